package io.ringraft.transport.aeron;

import io.ringraft.AdminResult;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftMetrics;
import io.ringraft.WriteResult;
import io.ringraft.engine.Role;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member cut off while the membership changed learns the new leader's endpoint from its
 * introduction. Three nodes over Aeron UDP; node 3 is cut off; node 4 joins as a learner, is
 * promoted (voters {1, 2, 3, 4}) and takes over leadership. Node 3 still holds {1, 2, 3}: its
 * network drops node 4's frames as from an unknown sender and has no publication to node 4. Healed,
 * node 3 catches up with the leader's commit index all the same, because node 4 introduces itself
 * to the member that does not answer it.
 */
class IntroductionClusterTest
{
    private static final int CLUSTER = 41;
    /** How long the healed member may take to catch up: several election timeouts, on a loaded machine. */
    private static final Duration CATCH_UP = Duration.ofSeconds(30);

    private final Map<Long, Raft> nodes = new LinkedHashMap<>();
    private final Map<Long, AeronRaftNetwork> networks = new TreeMap<>();

    @AfterEach
    void closeAll()
    {
        nodes.values().forEach(Raft::close);
    }

    /** A node's network that can be cut off: while cut, nothing it sends leaves and everything it receives is discarded. */
    private static final class Cuttable implements RaftNetwork
    {
        private final AeronRaftNetwork delegate;
        volatile boolean cut;

        Cuttable(final AeronRaftNetwork delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public int send(final RaftMessage message)
        {
            return cut ? SENT : delegate.send(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            return delegate.poll(cut ? m -> { } : handler, limit);
        }

        @Override
        public int maxMessageLength()
        {
            return delegate.maxMessageLength();
        }

        @Override
        public void onMembershipChanged(final Membership membership)
        {
            delegate.onMembershipChanged(membership);
        }

        @Override
        public void close()
        {
            delegate.close();
        }
    }

    private Cuttable start(final long id, final Map<Long, String> configured, final Membership initial)
    {
        final AeronRaftNetwork network = new AeronRaftNetwork(new AeronTransportConfig()
            .nodeId(id).clusterId(CLUSTER).endpoints(configured).termLength(256 * 1024).embeddedDriver(true));
        networks.put(id, network);
        final Cuttable cuttable = new Cuttable(network);
        nodes.put(id, Raft.start(new RaftConfig().nodeId(id).randomSeed(id * 11).electionTimeout(300, 600, TimeUnit.MILLISECONDS)
            .maxPayloadLength(16 * 1024), new InMemoryLogStorage(), cuttable, new NoopStateMachine(), initial));
        return cuttable;
    }

    private Raft leaderAmong(final long... ids) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            for (final long id : ids)
            {
                if (nodes.get(id).role() == Role.LEADER)
                {
                    return nodes.get(id);
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader among " + java.util.Arrays.toString(ids) + " within 30 s");
    }

    private static void assertOk(final AdminResult result, final String what)
    {
        assertTrue(result.isOk(), what + ": " + result);
    }

    @Test
    void aMemberCutOffWhileANodeWasAddedCatchesUpWithThatNodeAsLeader() throws Exception
    {
        final Map<Long, String> endpoints = LoopbackPorts.endpoints(1, 2, 3, 4);
        final Map<Long, String> original = new TreeMap<>(endpoints);
        original.remove(4L); // the original members are configured without node 4: they learn its endpoint from the log
        Cuttable three = null;
        for (long id = 1; id <= 3; id++)
        {
            final Cuttable network = start(id, original, Membership.of(1, 2, 3));
            if (id == 3)
            {
                three = network;
            }
        }
        leaderAmong(1, 2, 3);
        three.cut = true;
        Raft leader = leaderAmong(1, 2);
        final Duration timeout = Duration.ofSeconds(20);

        // Node 4 joins (no membership of its own) and becomes a voter while node 3 hears nothing of it.
        start(4, endpoints, null);
        assertOk(leader.addLearner(4, endpoints.get(4L), timeout).get(30, TimeUnit.SECONDS), "add learner 4");
        assertOk(leader.changeMembership(new long[]{1, 2, 3, 4}, false, timeout).get(30, TimeUnit.SECONDS), "promote 4");
        assertOk(leader.transferLeader(4, timeout).get(30, TimeUnit.SECONDS), "transfer to 4");
        final Raft four = nodes.get(4L);
        four.waitFor(RaftMetrics::isLeader, timeout);
        for (int i = 0; i < 20; i++)
        {
            final WriteResult result = four.clientWrite(new byte[16]).get(10, TimeUnit.SECONDS);
            assertTrue(result.isOk(), "write through node 4: " + result);
        }
        final long leaderCommit = four.commitIndex();
        final Raft node3 = nodes.get(3L);
        assertArrayEquals(new long[]{1, 2, 3}, node3.metrics().membership().voters(), "node 3 missed the change");
        assertTrue(node3.commitIndex() < leaderCommit);

        three.cut = false;
        final long healed = System.nanoTime();
        final RaftMetrics caughtUp = node3.waitFor(m -> m.committedIndex() >= leaderCommit && m.leaderId() == 4, CATCH_UP);
        final long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - healed);
        System.out.println("IntroductionClusterTest: node 3 reached commit index " + leaderCommit + " under leader 4 in " + millis +
            " ms after the heal; transport of node 3: " + networks.get(3L).counters());
        assertArrayEquals(new long[]{1, 2, 3, 4}, caughtUp.membership().voters(), "node 3 holds the membership that names node 4");
        assertTrue(networks.get(3L).counters().introductionsFromNonMembers() > 0, "through an introduction");
        assertEquals(4, leaderAmong(1, 2, 3, 4).nodeId(), "node 4 still leads");
        assertArrayEquals(new long[]{1, 2, 4}, networks.get(3L).peers(), "node 3's network reaches node 4 like any member");
    }
}
