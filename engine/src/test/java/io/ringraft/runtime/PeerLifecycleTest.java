package io.ringraft.runtime;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.Vote;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.InMemorySnapshotStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime follows the membership: the network is told the peers as they come and go, and a
 * removed peer's replication state and counter are released, so that a long-lived node that sees
 * many nodes come and go keeps a flat footprint.
 */
class PeerLifecycleTest
{
    private static final int LEARNERS = 200;

    @TempDir
    Path dir;

    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final Map<Long, Raft> nodes = new HashMap<>();
    private final Map<Long, RecordingNetwork> networks = new HashMap<>();

    @AfterEach
    void closeAll()
    {
        nodes.values().forEach(Raft::close);
    }

    /** The node's network, remembering the last peers the runtime named. */
    private static final class RecordingNetwork implements RaftNetwork
    {
        private final RaftNetwork delegate;
        volatile Membership peers;
        volatile int changes;
        final List<Membership> told = new CopyOnWriteArrayList<>();

        RecordingNetwork(final RaftNetwork delegate)
        {
            this.delegate = delegate;
        }

        @Override
        public int send(final RaftMessage message)
        {
            return delegate.send(message);
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            return delegate.poll(handler, limit);
        }

        @Override
        public void onMembershipChanged(final Membership membership)
        {
            peers = membership;
            changes++;
            told.add(membership);
        }

        @Override
        public void close()
        {
            delegate.close();
        }
    }

    private Raft start(final long id)
    {
        return start(id, Membership.of(1, 2, 3), 50, 1024);
    }

    /** @param initial the new cluster's membership, or null to join */
    private Raft start(final long id, final Membership initial, final long snapshotEvery, final int entriesPerAppend)
    {
        final RaftConfig config = new RaftConfig().nodeId(id).electionTimeout(300, 600, TimeUnit.MILLISECONDS)
            .heartbeatInterval(30, TimeUnit.MILLISECONDS).randomSeed(id * 31).snapshotEveryEntries(snapshotEvery).logRetainEntries(10)
            .maxEntriesPerAppend(entriesPerAppend).threadingMode(ThreadingMode.SHARED).countersFile(dir.resolve("counters-" + id));
        final RecordingNetwork recording = new RecordingNetwork(network.endpoint(id));
        networks.put(id, recording);
        final Raft node = Raft.start(config, new InMemoryLogStorage(), new InMemorySnapshotStore(), recording,
            new RecordingStateMachine(), initial);
        nodes.put(id, node);
        return node;
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            for (final Raft n : nodes.values())
            {
                if (n.role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 10 s");
    }

    /**
     * The test's own record of what each network was told holds every membership, and the leader's
     * hold up to all the learners still released (over 800 views, some naming 180 endpoints: about
     * 4 MiB): not the node's memory, so it is left out of the heap measurement.
     */
    private void forgetToldMemberships()
    {
        networks.values().forEach(n -> n.told.clear());
    }

    private static long usedHeapAfterGc() throws InterruptedException
    {
        final Runtime runtime = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++)
        {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, runtime.totalMemory() - runtime.freeMemory());
        }
        return used;
    }

    /**
     * Runs an admin call on the leader, again on the next leader if leadership moved meanwhile (a
     * loaded machine); a retry that finds the work done answers INVALID with {@code doneMessage}.
     *
     * @return the leader that answered
     */
    private Raft admin(final Raft leader, final Function<Raft, CompletableFuture<AdminResult>> call, final String doneMessage,
        final String what) throws Exception
    {
        Raft current = leader;
        boolean retried = false;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            final AdminResult result = call.apply(current).get(10, TimeUnit.SECONDS);
            if (result.status() == AdminStatus.OK || (retried && result.status() == AdminStatus.INVALID &&
                String.valueOf(result.message()).contains(doneMessage)))
            {
                return current;
            }
            assertTrue(result.status() == AdminStatus.NOT_LEADER || result.status() == AdminStatus.LEADER_CHANGED, what + ": " + result);
            retried = true;
            Thread.sleep(100);
            current = leader();
        }
        throw new AssertionError(what + ": no stable leader");
    }

    @Test
    void addingAndRemovingTwoHundredLearnersLeavesCountersPeersAndMemoryFlat() throws Exception
    {
        for (long id = 1; id <= 3; id++)
        {
            start(id);
        }
        Raft leader = leader();
        // Let every peer exist (and its match counter) before taking the baseline.
        leader.waitFor(m -> m.matchIndex().size() == 2, Duration.ofSeconds(5));
        final int countersBefore = RaftCounters.readFile(dir.resolve("counters-" + leader.nodeId())).size();
        assertArrayEquals(new long[]{1, 2, 3}, networks.get(leader.nodeId()).peers.allNodes(), "the network starts with the initial members");
        long heapAfterWarmup = 0;
        for (int i = 0; i < LEARNERS; i++)
        {
            final long learner = 1000 + i;
            final String endpoint = "10.9.9.9:" + (20000 + i);
            leader = admin(leader, r -> r.addLearner(learner, endpoint, Duration.ofSeconds(5)), "already a member", "add " + learner);
            final Membership told = networks.get(leader.nodeId()).peers;
            assertTrue(told.isLearner(learner), "the network is told of learner " + learner + ": " + told);
            assertEquals(endpoint, told.endpoints().get(learner), "with its endpoint");
            leader = admin(leader, r -> r.removeLearner(learner, Duration.ofSeconds(5)), "is not a member", "remove " + learner);
            if (i == 19)
            {
                forgetToldMemberships();
                heapAfterWarmup = usedHeapAfterGc();
            }
        }
        final long leaderId = leader.nodeId();
        final Path countersFile = dir.resolve("counters-" + leaderId);

        // A removed learner never answers: once an election timeout passed, it is released everywhere.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline &&
            (networks.get(leaderId).peers.allNodes().length != 3 || RaftCounters.readFile(countersFile).size() != countersBefore))
        {
            Thread.sleep(20);
        }
        assertArrayEquals(new long[]{1, 2, 3}, networks.get(leaderId).peers.allNodes(), "the network is back to the members");
        assertEquals(countersBefore, RaftCounters.readFile(countersFile).size(), "as many counters as before: " +
            RaftCounters.readFile(countersFile).keySet());
        assertEquals(2, leader.metrics().matchIndex().size(), "match indexes of the two followers only");
        for (final Map.Entry<Long, RecordingNetwork> e : networks.entrySet())
        {
            assertArrayEquals(new long[]{1, 2, 3}, e.getValue().peers.allNodes(), "node " + e.getKey() + " peers");
        }
        forgetToldMemberships();
        final long heapAfter = usedHeapAfterGc();
        // 180 leaked peers would hold 180 replication buffers (64 KiB each) and more: over 11 MiB.
        assertTrue(heapAfter - heapAfterWarmup < 4 * 1024 * 1024, "heap grew by " + (heapAfter - heapAfterWarmup) / 1024 +
            " KiB over 180 learners added and removed");
        assertTrue(Arrays.stream(networks.get(leaderId).peers.learners()).noneMatch(n -> n >= 1000));
    }
    /**
     * A node added to a cluster whose leader joined after the first membership replays a log
     * prefix whose memberships do not name that leader: the network keeps the leader it follows as
     * a peer (the Aeron network would otherwise drop the leader's frames and the node would stall
     * there). A leader that a membership the node holds removed is not kept.
     */
    @Test
    void aNodeReplayingAPrefixFromBeforeItsLeaderJoinedKeepsThatLeaderButNotARemovedOne() throws Exception
    {
        final long never = Long.MAX_VALUE / 2;
        for (long id = 1; id <= 3; id++)
        {
            start(id, Membership.of(1, 2, 3), never, 4);
        }
        Raft leader = leader();
        for (int i = 0; i < 2_000; i++)
        {
            leader.clientWrite(new byte[]{(byte)i}).get(5, TimeUnit.SECONDS);
        }
        start(4, null, never, 4);
        leader = admin(leader, r -> r.addLearner(4, "n4", Duration.ofSeconds(10)), "already a member", "add 4");
        leader = admin(leader, r -> r.changeMembership(new long[]{1, 2, 3, 4}, false, Duration.ofSeconds(10)), "", "promote 4");
        leader = admin(leader, r -> r.transferLeader(4, Duration.ofSeconds(10)), "", "transfer to 4");
        final Raft four = nodes.get(4L);
        four.waitFor(m -> m.role() == Role.LEADER, Duration.ofSeconds(10));
        admin(four, r -> r.changeMembership(new long[]{2, 3, 4}, false, Duration.ofSeconds(10)), "", "remove 1");
        assertEquals(4, four.leaderId(), "node 4 leads");

        // Node 5 receives the whole log, from the first membership {1, 2, 3} on: its leader 4 is in none of the first ones.
        final Raft five = start(5, null, never, 4);
        admin(four, r -> r.addLearner(5, "n5", Duration.ofSeconds(10)), "already a member", "add 5");
        final long target = four.commitIndex();
        five.waitFor(m -> m.appliedIndex() >= target, Duration.ofSeconds(10));
        final List<Membership> toldFive = networks.get(5L).told;
        assertTrue(toldFive.stream().anyMatch(m -> Arrays.equals(m.voters(), new long[]{1, 2, 3}) && !m.isJoint()),
            "node 5 went through the first membership: " + toldFive);
        for (final Membership m : toldFive)
        {
            assertTrue(m.contains(4), "every view of node 5 keeps its leader 4: " + toldFive);
        }

        // The leader removes itself: once the change is committed and another leads, no node keeps it.
        admin(four, r -> r.changeMembership(new long[]{2, 3}, false, Duration.ofSeconds(10)), "", "remove 4");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && (networks.get(2L).peers.contains(4) || networks.get(5L).peers.contains(4) ||
            nodes.get(2L).leaderId() == 4 || nodes.get(2L).leaderId() == Vote.NO_NODE))
        {
            Thread.sleep(20);
        }
        assertTrue(!networks.get(2L).peers.contains(4), "node 2 dropped the removed leader: " + networks.get(2L).peers);
        assertTrue(!networks.get(5L).peers.contains(4), "node 5 dropped the removed leader: " + networks.get(5L).peers);
    }
}
