package io.ringraft;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongPredicate;
import java.util.function.LongUnaryOperator;

/**
 * A cluster configuration: the voters, and while a change is in progress the voters of the next
 * configuration too (joint consensus, Raft §6), plus learners that replicate but never vote.
 * <p>
 * While joint, every decision (an election, a commit) needs a majority of <em>both</em> voter
 * sets. Immutable. Node ids are positive longs; endpoints are optional addresses that a network
 * implementation may use to reach nodes it did not know at start-up.
 */
public final class Membership
{
    private static final byte FORMAT_VERSION = 1;
    private static final long[] NONE = new long[0];

    private final long[] voters;
    private final long[] nextVoters;
    private final long[] learners;
    private final Map<Long, String> endpoints;

    private Membership(final long[] voters, final long[] nextVoters, final long[] learners, final Map<Long, String> endpoints)
    {
        this.voters = sortedUnique(voters, "voters");
        this.nextVoters = sortedUnique(nextVoters, "nextVoters");
        this.learners = sortedUnique(learners, "learners");
        if (this.voters.length == 0)
        {
            throw new IllegalArgumentException("a membership needs at least one voter");
        }
        for (final long learner : this.learners)
        {
            if (contains(this.voters, learner) || contains(this.nextVoters, learner))
            {
                throw new IllegalArgumentException("node " + learner + " cannot be both a voter and a learner");
            }
        }
        this.endpoints = Collections.unmodifiableMap(new TreeMap<>(endpoints));
    }

    /** @return a configuration of the given voters, no learners */
    public static Membership of(final long... voters)
    {
        return new Membership(voters, NONE, NONE, Map.of());
    }

    /** @return a configuration with voters, a pending next voter set (empty if not joint), learners and endpoints */
    public static Membership of(final long[] voters, final long[] nextVoters, final long[] learners, final Map<Long, String> endpoints)
    {
        return new Membership(voters, nextVoters, learners, endpoints);
    }

    /** @return the (old, while joint) voter set, sorted */
    public long[] voters()
    {
        return voters.clone();
    }

    /** @return the next voter set while joint, else empty */
    public long[] nextVoters()
    {
        return nextVoters.clone();
    }

    /** @return the learners, sorted */
    public long[] learners()
    {
        return learners.clone();
    }

    /** @return known endpoints by node id */
    public Map<Long, String> endpoints()
    {
        return endpoints;
    }

    /** @return true while a joint configuration (old and new voters) is in force */
    public boolean isJoint()
    {
        return nextVoters.length > 0;
    }

    /** @return true if {@code node} votes in either voter set */
    public boolean isVoter(final long node)
    {
        return contains(voters, node) || contains(nextVoters, node);
    }

    /** @return true if {@code node} is a learner */
    public boolean isLearner(final long node)
    {
        return contains(learners, node);
    }

    /** @return true if {@code node} is a voter or a learner */
    public boolean contains(final long node)
    {
        return isVoter(node) || isLearner(node);
    }

    /** @return every node that receives replication: voters of both sets and learners, sorted, unique */
    public long[] allNodes()
    {
        final long[] all = new long[voters.length + nextVoters.length + learners.length];
        System.arraycopy(voters, 0, all, 0, voters.length);
        System.arraycopy(nextVoters, 0, all, voters.length, nextVoters.length);
        System.arraycopy(learners, 0, all, voters.length + nextVoters.length, learners.length);
        return Arrays.stream(all).distinct().sorted().toArray();
    }

    /**
     * @param granted which nodes agree
     * @return true if the nodes that agree form a majority of every voter set in force
     */
    public boolean isQuorum(final LongPredicate granted)
    {
        return isMajority(voters, granted) && (nextVoters.length == 0 || isMajority(nextVoters, granted));
    }

    /**
     * The highest index that a quorum has reached: for each voter set, the largest value that a
     * majority of its voters has reached; the minimum of those when joint.
     *
     * @param matched the index each voter has reached
     * @return the quorum index
     */
    public long quorumIndex(final LongUnaryOperator matched)
    {
        final long first = majorityValue(voters, matched);
        return nextVoters.length == 0 ? first : Math.min(first, majorityValue(nextVoters, matched));
    }

    /** @return the joint configuration moving from this one to {@code newVoters} */
    public Membership toJoint(final long[] newVoters, final long[] newLearners)
    {
        return new Membership(voters, newVoters, newLearners, endpoints);
    }

    /** @return the final configuration of a joint one: the next voters alone */
    public Membership toFinal()
    {
        if (!isJoint())
        {
            throw new IllegalStateException("not joint: " + this);
        }
        return new Membership(nextVoters, NONE, learners, endpoints);
    }

    /** @return the same voters with {@code learner} added as a learner with {@code endpoint} (may be null) */
    public Membership withLearner(final long learner, final String endpoint)
    {
        final long[] more = Arrays.copyOf(learners, learners.length + 1);
        more[learners.length] = learner;
        final Map<Long, String> eps = new TreeMap<>(endpoints);
        if (endpoint != null)
        {
            eps.put(learner, endpoint);
        }
        return new Membership(voters, nextVoters, more, eps);
    }

    /** @return the stable binary form stored in a {@link EntryType#MEMBERSHIP} entry */
    public byte[] encode()
    {
        int size = 1 + 4 * 4 + 8 * (voters.length + nextVoters.length + learners.length);
        for (final Map.Entry<Long, String> e : endpoints.entrySet())
        {
            size += 8 + 4 + e.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        final ByteBuffer buf = ByteBuffer.allocate(size);
        buf.put(FORMAT_VERSION);
        putLongs(buf, voters);
        putLongs(buf, nextVoters);
        putLongs(buf, learners);
        buf.putInt(endpoints.size());
        for (final Map.Entry<Long, String> e : endpoints.entrySet())
        {
            final byte[] bytes = e.getValue().getBytes(StandardCharsets.UTF_8);
            buf.putLong(e.getKey());
            buf.putInt(bytes.length);
            buf.put(bytes);
        }
        return buf.array();
    }

    /**
     * @param bytes the output of {@link #encode()}
     * @return the membership
     * @throws IllegalArgumentException if the bytes are not a valid encoding
     */
    public static Membership decode(final byte[] bytes)
    {
        try
        {
            final ByteBuffer buf = ByteBuffer.wrap(bytes);
            final byte version = buf.get();
            if (version != FORMAT_VERSION)
            {
                throw new IllegalArgumentException("unknown membership format version " + version);
            }
            final long[] voters = getLongs(buf);
            final long[] next = getLongs(buf);
            final long[] learners = getLongs(buf);
            final int endpointCount = buf.getInt();
            if (endpointCount < 0 || endpointCount > buf.remaining() / 12)
            {
                throw new IllegalArgumentException("bad endpoint count " + endpointCount);
            }
            final Map<Long, String> endpoints = new TreeMap<>();
            for (int i = 0; i < endpointCount; i++)
            {
                final long node = buf.getLong();
                final int length = buf.getInt();
                // Lengths come from the wire: check them against the bytes there before allocating.
                if (length < 0 || length > buf.remaining())
                {
                    throw new IllegalArgumentException("bad endpoint length " + length + " with " + buf.remaining() + " bytes left");
                }
                final byte[] address = new byte[length];
                buf.get(address);
                endpoints.put(node, new String(address, StandardCharsets.UTF_8));
            }
            return new Membership(voters, next, learners, endpoints);
        }
        catch (final RuntimeException ex)
        {
            throw new IllegalArgumentException("undecodable membership (" + bytes.length + " bytes): " + ex.getMessage(), ex);
        }
    }

    private static void putLongs(final ByteBuffer buf, final long[] values)
    {
        buf.putInt(values.length);
        for (final long v : values)
        {
            buf.putLong(v);
        }
    }

    private static long[] getLongs(final ByteBuffer buf)
    {
        final int n = buf.getInt();
        if (n < 0 || n > buf.remaining() / 8)
        {
            throw new IllegalArgumentException("bad node count " + n);
        }
        final long[] values = new long[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = buf.getLong();
        }
        return values;
    }

    private static boolean isMajority(final long[] set, final LongPredicate granted)
    {
        int count = 0;
        for (final long node : set)
        {
            if (granted.test(node))
            {
                count++;
            }
        }
        return count > set.length / 2;
    }

    /**
     * The value reached by a majority: the (n/2+1)-th largest. Quadratic in the (small) number of
     * voters so that the leader's commit rule, run on every acknowledgement, allocates nothing.
     */
    private static long majorityValue(final long[] set, final LongUnaryOperator matched)
    {
        if (set.length == 0)
        {
            throw new IllegalStateException("no voters to form a majority");
        }
        final int majority = set.length / 2 + 1;
        long best = Long.MIN_VALUE;
        for (final long candidate : set)
        {
            final long value = matched.applyAsLong(candidate);
            if (value <= best)
            {
                continue;
            }
            int reached = 0;
            for (final long other : set)
            {
                if (matched.applyAsLong(other) >= value)
                {
                    reached++;
                }
            }
            if (reached >= majority)
            {
                best = value;
            }
        }
        return best;
    }

    private static boolean contains(final long[] sorted, final long node)
    {
        return Arrays.binarySearch(sorted, node) >= 0;
    }

    private static long[] sortedUnique(final long[] nodes, final String what)
    {
        final long[] copy = nodes.clone();
        Arrays.sort(copy);
        for (int i = 0; i < copy.length; i++)
        {
            if (copy[i] <= 0)
            {
                throw new IllegalArgumentException(what + ": node ids must be positive, got " + copy[i]);
            }
            if (i > 0 && copy[i] == copy[i - 1])
            {
                throw new IllegalArgumentException(what + ": duplicate node id " + copy[i]);
            }
        }
        return copy;
    }

    @Override
    public boolean equals(final Object o)
    {
        if (!(o instanceof Membership))
        {
            return false;
        }
        final Membership that = (Membership)o;
        return Arrays.equals(voters, that.voters) && Arrays.equals(nextVoters, that.nextVoters) &&
            Arrays.equals(learners, that.learners) && endpoints.equals(that.endpoints);
    }

    @Override
    public int hashCode()
    {
        return Arrays.hashCode(voters) * 31 + Arrays.hashCode(nextVoters);
    }

    @Override
    public String toString()
    {
        return "Membership{voters=" + Arrays.toString(voters) +
            (isJoint() ? " next=" + Arrays.toString(nextVoters) : "") +
            (learners.length > 0 ? " learners=" + Arrays.toString(learners) : "") + "}";
    }
}
