package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.engine.Role;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.LongArrayList;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * Checks Raft's safety properties (Raft §5.4, Figure 3) while a simulation runs: the nodes report
 * appends, truncations, applies and elections as they happen, and {@link #afterStep()} checks
 * every live node after every simulated event. The first violation throws an
 * {@link InvariantViolation}.
 * <ul>
 *     <li>Election safety: at most one leader per term, ever.</li>
 *     <li>Log matching: an entry id is created once, with one payload and one predecessor term,
 *         so two logs holding the same id hold the same prefix.</li>
 *     <li>Leader completeness: a newly elected leader holds every entry known committed before
 *         its term.</li>
 *     <li>State-machine safety and committed entries never change: every index is committed
 *         (reported by a commit index or applied) with one entry only, and a log never loses a
 *         committed entry it holds.</li>
 *     <li>Commit rule: a leader advances its commit index only to an entry of its own term
 *         (Raft §5.4.2; the situation of Figure 8).</li>
 *     <li>Durability: when an entry is first known committed, a majority of the nodes hold it in
 *         their durable log image (what a crash would leave).</li>
 *     <li>Term, commit index and applied index never go backwards on a live node (the term not
 *         even across a restart), and applied &le; committed &le; last log index.</li>
 * </ul>
 * Each of these is a {@link Check} that a cluster can switch off ({@link SimCluster.Builder#disableChecks}).
 */
public final class InvariantChecker
{
    /** The checks, each of which can be switched off. */
    public enum Check
    {
        /** At most one leader per term. */
        ELECTION_SAFETY,
        /** An entry id is created once, with one payload and one predecessor term. */
        LOG_MATCHING,
        /** A new leader holds every entry committed before its term; no entry is created over a committed one. */
        LEADER_COMPLETENESS,
        /** One entry committed per index, never removed from a log that holds it, applied as committed; snapshots match it. */
        STATE_MACHINE_SAFETY,
        /** A leader advances its commit index only to an entry of its own term (Raft §5.4.2). */
        COMMIT_RULE,
        /** An entry first known committed is durable on a quorum. */
        DURABILITY,
        /** Term, commit index and applied index never go back; applied &le; committed &le; last log index. */
        MONOTONIC
    }

    private static final long UNKNOWN = -1;

    private final SimNode[] nodes;
    private final Long2LongHashMap leaderOfTerm = new Long2LongHashMap(UNKNOWN);
    private final HashMap<LogId, long[]> created = new HashMap<>();
    private final LongArrayList committedTerm = new LongArrayList();
    private final LongArrayList committedHash = new LongArrayList();
    /** The highest term of a node that knew the entry committed when it was first seen committed. */
    private final LongArrayList committedSeenInTerm = new LongArrayList();
    private final long[] lastTerm;
    private final long[] lastCommitted;
    private final long[] lastApplied;
    private final EnumSet<Check> enabled;
    private long checks;

    /**
     * @param nodes    the nodes by id; slot 0 is unused
     * @param disabled the checks to leave out (e.g. the commit rule, which names a commit of an older
     *                 term's entry at once rather than waiting for its consequence)
     */
    InvariantChecker(final SimNode[] nodes, final Set<Check> disabled)
    {
        this.nodes = nodes;
        this.enabled = EnumSet.allOf(Check.class);
        this.enabled.removeAll(disabled);
        lastTerm = new long[nodes.length];
        lastCommitted = new long[nodes.length];
        lastApplied = new long[nodes.length];
        committedTerm.addLong(0);
        committedHash.addLong(0);
        committedSeenInTerm.addLong(0);
    }

    /**
     * @param check a check
     * @return true unless it was switched off
     */
    public boolean enabled(final Check check)
    {
        return enabled.contains(check);
    }

    /** @return how many individual invariant checks ran */
    public long checks()
    {
        return checks;
    }

    /** @return the highest index known committed */
    public long highestCommitted()
    {
        return committedTerm.size() - 1;
    }

    /**
     * @param index an index up to {@link #highestCommitted()}
     * @return the term of the entry committed there, or -1 if not known yet
     */
    public long committedTerm(final long index)
    {
        return index < committedTerm.size() ? committedTerm.getLong((int)index) : UNKNOWN;
    }

    /** @return how many terms had a leader */
    public int leaderTerms()
    {
        return leaderOfTerm.size();
    }

    /**
     * A node is about to append an entry after its current last entry.
     */
    void onAppend(final SimNode node, final Entry entry)
    {
        checks++;
        final long prevTerm = node.log().termAt(entry.index() - 1);
        final long hash = KvStateMachine.payloadHash(entry.payload());
        final LogId id = entry.logId();
        final long[] first = created.get(id);
        if (first == null)
        {
            created.put(id, new long[] {hash, prevTerm, node.id()});
            final long committed = committedTerm(entry.index());
            if (enabled.contains(Check.LEADER_COMPLETENESS) && committed != UNKNOWN && committed != entry.term() &&
                committedSeenInTerm.getLong((int)entry.index()) < entry.term())
            {
                throw new InvariantViolation("leader completeness: node " + node.id() + " created " + id + " over the entry " +
                    committed + "-" + entry.index() + " committed before term " + entry.term());
            }
            return;
        }
        if (enabled.contains(Check.LOG_MATCHING) && (first[0] != hash || first[1] != prevTerm))
        {
            throw new InvariantViolation("log matching: node " + node.id() + " appends " + id + " (payload hash " + hash +
                ", previous term " + prevTerm + ") but node " + first[2] + " created it with payload hash " + first[0] +
                " after term " + first[1]);
        }
    }

    /**
     * A node is about to remove its log suffix from {@code fromIndex}.
     *
     * @param coveredUpTo the last index of a snapshot being installed that replaces the log, else 0
     */
    void onTruncate(final SimNode node, final long fromIndex, final long coveredUpTo)
    {
        if (!enabled.contains(Check.STATE_MACHINE_SAFETY))
        {
            return;
        }
        final SimLogStorage log = node.log();
        final long last = Math.min(log.lastLogId().index(), highestCommitted());
        for (long index = Math.max(Math.max(fromIndex, coveredUpTo + 1), log.lastPurgedLogId().index() + 1); index <= last; index++)
        {
            checks++;
            final long term = committedTerm(index);
            if (term != UNKNOWN && log.termAt(index) == term)
            {
                throw new InvariantViolation("committed entry removed: node " + node.id() + " truncates from " + fromIndex +
                    " and loses the committed entry " + term + "-" + index);
            }
        }
    }

    /**
     * A node applies an entry (it is committed).
     */
    void onApply(final SimNode node, final Entry entry)
    {
        recordCommitted(node, entry.index(), entry.term(), KvStateMachine.payloadHash(entry.payload()), "applied");
    }

    /**
     * A follower installs a snapshot received from a leader: it must cover a committed prefix.
     */
    void onInstallSnapshot(final SimNode node, final SnapshotMeta meta)
    {
        if (!enabled.contains(Check.STATE_MACHINE_SAFETY))
        {
            return;
        }
        checks++;
        final LogId last = meta.lastIncluded();
        final long committed = committedTerm(last.index());
        if (committed != UNKNOWN && committed != last.term())
        {
            throw new InvariantViolation("snapshot safety: node " + node.id() + " installs snapshot " + meta.snapshotId() +
                " ending at " + last + " but " + committed + "-" + last.index() + " is committed there");
        }
    }

    /**
     * A node became leader of {@code term}.
     */
    void onLeader(final SimNode node, final long term)
    {
        checks++;
        final long previous = leaderOfTerm.get(term);
        if (previous == node.id())
        {
            return;
        }
        if (previous != UNKNOWN && enabled.contains(Check.ELECTION_SAFETY))
        {
            throw new InvariantViolation("election safety: nodes " + previous + " and " + node.id() + " are both leader of term " +
                term);
        }
        leaderOfTerm.put(term, node.id());
        if (!enabled.contains(Check.LEADER_COMPLETENESS))
        {
            return;
        }
        final SimLogStorage log = node.log();
        for (int index = 1; index < committedTerm.size(); index++)
        {
            final long committed = committedTerm.getLong(index);
            if (committed != UNKNOWN && committedSeenInTerm.getLong(index) < term && index > log.lastPurgedLogId().index())
            {
                checks++;
                if (log.termAt(index) != committed)
                {
                    throw new InvariantViolation("leader completeness: node " + node.id() + " won term " + term +
                        " without the entry " + committed + "-" + index + " committed before that term (it holds term " +
                        log.termAt(index) + " there, last log " + log.lastLogId() + ")");
                }
            }
        }
    }

    /**
     * A node restarted: its commit and applied indexes start again from what it persisted.
     */
    void onRestart(final SimNode node)
    {
        final int id = (int)node.id();
        lastCommitted[id] = 0;
        lastApplied[id] = 0;
    }

    /**
     * A node's disk was replaced: it restarts with term 0 and an empty log.
     */
    void onDiskReplaced(final SimNode node)
    {
        final int id = (int)node.id();
        lastTerm[id] = 0;
        lastCommitted[id] = 0;
        lastApplied[id] = 0;
    }

    /**
     * Checks every live node after a simulated event.
     */
    void afterStep()
    {
        for (int id = 1; id < nodes.length; id++)
        {
            final SimNode node = nodes[id];
            if (!node.isUp())
            {
                continue;
            }
            final long term = node.currentTerm();
            final long committed = node.committedIndex();
            final long applied = node.appliedIndex();
            final long lastIndex = node.log().lastLogId().index();
            checks += 4;
            if (enabled.contains(Check.MONOTONIC))
            {
                checkMonotonic(id, term, committed, applied, lastIndex);
            }
            if (committed > lastCommitted[id])
            {
                final SimLogStorage log = node.log();
                checks++;
                if (enabled.contains(Check.COMMIT_RULE) && node.role() == Role.LEADER && lastTerm[id] == term &&
                    log.termAt(committed) != term)
                {
                    throw new InvariantViolation("commit rule (Raft 5.4.2): node " + id + ", leader of term " + term +
                        ", advanced its commit index from " + lastCommitted[id] + " to " + committed + ", an entry of term " +
                        log.termAt(committed) + ": a leader commits by counting replicas only entries of its own term");
                }
                for (long index = Math.max(lastCommitted[id], log.lastPurgedLogId().index()) + 1; index <= Math.min(committed,
                    log.lastLogId().index()); index++)
                {
                    final Entry entry = log.entry(index);
                    recordCommitted(node, index, entry.term(), KvStateMachine.payloadHash(entry.payload()), "committed");
                }
            }
            if (node.role() == Role.LEADER)
            {
                onLeader(node, term);
            }
            lastTerm[id] = term;
            lastCommitted[id] = committed;
            lastApplied[id] = applied;
        }
    }

    private void checkMonotonic(final int id, final long term, final long committed, final long applied, final long lastIndex)
    {
        if (term < lastTerm[id])
        {
            throw new InvariantViolation("node " + id + ": term went back from " + lastTerm[id] + " to " + term);
        }
        if (committed < lastCommitted[id])
        {
            throw new InvariantViolation("node " + id + ": commit index went back from " + lastCommitted[id] + " to " +
                committed);
        }
        if (applied < lastApplied[id])
        {
            throw new InvariantViolation("node " + id + ": applied index went back from " + lastApplied[id] + " to " + applied);
        }
        if (applied > committed || committed > lastIndex)
        {
            throw new InvariantViolation("node " + id + ": expected applied <= committed <= last log index, got applied=" +
                applied + " committed=" + committed + " last=" + lastIndex);
        }
    }

    /**
     * Checks every live node's state machine: it applied exactly the committed commands at their
     * indexes, in index order (the sequence the state machine itself recorded), and nodes that
     * applied up to the same index hold the same state.
     *
     * @throws InvariantViolation if not
     */
    public void checkStateMachines()
    {
        if (!enabled.contains(Check.STATE_MACHINE_SAFETY))
        {
            return;
        }
        SimNode reference = null;
        for (int id = 1; id < nodes.length; id++)
        {
            final SimNode node = nodes[id];
            if (!node.isUp())
            {
                continue;
            }
            final KvStateMachine sm = node.stateMachine();
            long previous = 0;
            for (int i = 0; i < sm.appliedCount(); i++)
            {
                checks++;
                final long index = sm.appliedIndex(i);
                if (index <= previous || committedTerm(index) != sm.appliedTerm(i) ||
                    committedHash.getLong((int)index) != sm.appliedHash(i))
                {
                    throw new InvariantViolation("state machine safety: node " + id + " applied " + sm.appliedTerm(i) + "-" + index +
                        " (after index " + previous + ") but the committed entry there is term " + committedTerm(index));
                }
                previous = index;
            }
            if (reference != null && reference.appliedIndex() == node.appliedIndex())
            {
                checks++;
                if (!reference.stateMachine().snapshotOfMap().equals(sm.snapshotOfMap()))
                {
                    throw new InvariantViolation("state machines diverged: nodes " + reference.id() + " and " + id + " applied up to " +
                        node.appliedIndex() + " but hold " + reference.stateMachine().snapshotOfMap() + " and " + sm.snapshotOfMap());
                }
            }
            reference = reference == null ? node : reference;
        }
    }

    /**
     * An entry is committed only once a quorum holds it durably, so it survives any crashes a
     * quorum outlives. The quorum is that of the configuration the committing leader used, which
     * the checker cannot see; it accepts a quorum of any configuration the recording node knows
     * for that index, for its commit index (committing a later entry by a quorum of the
     * configuration there commits this one too), or now (with no membership change, all of them are
     * the initial voters).
     */
    private void checkDurableOnQuorum(final SimNode node, final long index, final long term, final String how)
    {
        if (!enabled.contains(Check.DURABILITY))
        {
            return;
        }
        checks++;
        final boolean[] holds = new boolean[nodes.length];
        final StringBuilder where = new StringBuilder();
        for (int id = 1; id < nodes.length; id++)
        {
            final SimLogStorage log = nodes[id].log();
            holds[id] = index <= log.lastPurgedLogId().index() || log.durableTermAt(index) == term;
            where.append(' ').append('N').append(id).append(holds[id] ? "=yes" : "=no");
        }
        final Membership atIndex = node.membershipAt(index);
        final Membership now = node.membership();
        final long commitPoint = node.committedIndex();
        final Membership atCommit = commitPoint > index ? node.membershipAt(commitPoint) : null;
        final LongPredicate durable = id -> id > 0 && id < nodes.length && holds[(int)id];
        if (atIndex == null && now == null || atIndex != null && atIndex.isQuorum(durable) || now != null && now.isQuorum(durable) ||
            atCommit != null && atCommit.isQuorum(durable))
        {
            return;
        }
        throw new InvariantViolation("durability: node " + node.id() + " " + how + " " + term + "-" + index +
            " while no quorum holds it durably:" + where + " (membership there " + atIndex + ", at the commit index " + commitPoint +
            " " + atCommit + ", now " + now + ")");
    }

    private void recordCommitted(final SimNode node, final long index, final long term, final long hash, final String how)
    {
        checks++;
        while (committedTerm.size() <= index)
        {
            committedTerm.addLong(UNKNOWN);
            committedHash.addLong(0);
            committedSeenInTerm.addLong(Long.MAX_VALUE);
        }
        final int i = (int)index;
        final long known = committedTerm.getLong(i);
        if (known == UNKNOWN)
        {
            checkDurableOnQuorum(node, index, term, how);
            committedTerm.setLong(i, term);
            committedHash.setLong(i, hash);
            committedSeenInTerm.setLong(i, node.currentTerm());
            return;
        }
        if ((known != term || committedHash.getLong(i) != hash) && enabled.contains(Check.STATE_MACHINE_SAFETY))
        {
            throw new InvariantViolation("state machine safety: node " + node.id() + " " + how + " " + term + "-" + index +
                " (payload hash " + hash + ") but " + known + "-" + index + " (payload hash " + committedHash.getLong(i) +
                ") was committed there before");
        }
    }
}
