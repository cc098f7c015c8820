package io.ringraft.runtime;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ReadPolicy;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteResult;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real nodes in one JVM: snapshot install to a lagging follower, restart from a snapshot plus the
 * log, membership change under load, learners, leader transfer, lease reads, counters file.
 */
class ClusterAdminTest
{
    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final Map<Long, Raft> nodes = new HashMap<>();
    private final Map<Long, RecordingStateMachine> machines = new HashMap<>();
    private final Map<Long, InMemoryLogStorage> logs = new HashMap<>();
    private final Map<Long, InMemorySnapshotStore> snapshots = new HashMap<>();

    @AfterEach
    void closeAll()
    {
        nodes.values().forEach(Raft::close);
    }

    private static RaftConfig config(final long id)
    {
        return new RaftConfig().nodeId(id).electionTimeout(300, 600, TimeUnit.MILLISECONDS).heartbeatInterval(30, TimeUnit.MILLISECONDS)
            .randomSeed(id * 17).snapshotEveryEntries(0).logRetainEntries(10).threadingMode(ThreadingMode.SHARED);
    }

    private Raft start(final long id, final Membership initial)
    {
        final RecordingStateMachine sm = new RecordingStateMachine();
        machines.put(id, sm);
        final Raft node = Raft.start(config(id), KeptOpen.log(logs.computeIfAbsent(id, i -> new InMemoryLogStorage())),
            KeptOpen.snapshots(snapshots.computeIfAbsent(id, i -> new InMemorySnapshotStore())), network.endpoint(id), sm, initial);
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
                if (n.metrics().role() == Role.LEADER)
                {
                    return n;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 10 s");
    }

    private static byte[] command(final long value)
    {
        final byte[] bytes = new byte[16];
        new UnsafeBuffer(bytes).putLong(0, value);
        return bytes;
    }

    private static void writeAll(final Raft leader, final long from, final long to) throws Exception
    {
        final List<CompletableFuture<WriteResult>> results = new ArrayList<>();
        for (long i = from; i < to; i++)
        {
            results.add(leader.clientWrite(command(i)));
        }
        for (final CompletableFuture<WriteResult> r : results)
        {
            assertTrue(r.get(10, TimeUnit.SECONDS).isOk(), "write acknowledged");
        }
    }

    private void assertSameStateEverywhere(final Raft leader, final long... ids) throws Exception
    {
        final long applied = leader.ensureLinearizable().get(10, TimeUnit.SECONDS);
        for (final long id : ids)
        {
            nodes.get(id).waitFor(m -> m.appliedIndex() >= applied, Duration.ofSeconds(15));
        }
        final List<Long> expected = machines.get(leader.nodeId()).commands();
        for (final long id : ids)
        {
            assertEquals(expected, machines.get(id).commands(), "state of node " + id);
        }
    }

    @Test
    void laggingFollowerCatchesUpFromASnapshotInChunksAndReplicationGoesOn() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        Raft leader = leader();
        final long lagging = leader.nodeId() == 3 ? 2 : 3;
        network.isolate(lagging);
        writeAll(leader, 0, 2_000);
        final SnapshotMeta snapshot = leader.triggerSnapshot().get(10, TimeUnit.SECONDS);
        assertTrue(snapshot.lastIncluded().index() >= 2_000);
        assertTrue(snapshot.sizeBytes() > 6 * 1024, "several chunks");
        network.heal();
        writeAll(leader, 2_000, 2_100);
        leader = leader();
        assertSameStateEverywhere(leader, 1, 2, 3);
        assertEquals(1, machines.get(lagging).snapshotsInstalled(), "the lagging node got the snapshot, not the purged entries");
        assertEquals(2_100, machines.get(lagging).commands().size());
    }

    @Test
    void nodeRestartsFromItsLatestSnapshotPlusTheLogAfterIt() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        Raft leader = leader();
        writeAll(leader, 0, 500);
        final long follower = leader.nodeId() == 1 ? 2 : 1;
        nodes.get(follower).waitFor(m -> m.appliedIndex() >= 500, Duration.ofSeconds(10));
        nodes.get(follower).triggerSnapshot().get(10, TimeUnit.SECONDS);
        writeAll(leader, 500, 600);
        nodes.get(follower).waitFor(m -> m.appliedIndex() >= 600, Duration.ofSeconds(10));
        nodes.remove(follower).close();
        final Raft restarted = start(follower, three);
        assertEquals(1, machines.get(follower).snapshotsInstalled(), "state loaded from the snapshot at start");
        leader = leader();
        writeAll(leader, 600, 650);
        assertSameStateEverywhere(leader, 1, 2, 3);
        assertEquals(650, machines.get(follower).commands().size());
        assertTrue(restarted.metrics().appliedIndex() >= 650);
    }

    @Test
    void restartedNodeRefusesLocalReadsUntilItAppliedTheCommitIndexItHadSeen() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        Raft leader = leader();
        writeAll(leader, 0, 300);
        final long follower = leader.nodeId() == 1 ? 2 : 1;
        final long committed = nodes.get(follower).waitFor(m -> m.appliedIndex() >= 300, Duration.ofSeconds(10)).committedIndex();
        assertEquals(WriteStatus.OK, nodes.get(follower).localReadStatus(), "a node that never restarted serves local reads");
        nodes.remove(follower).close();

        // Restarted where it cannot hear the leader: its log holds the writes but it does not know they committed.
        network.isolate(follower);
        final Raft restarted = start(follower, three);
        assertTrue(restarted.readyIndex() >= committed, "kept the commit index it had seen: " + restarted.readyIndex() + " < " + committed);
        Thread.sleep(300);
        assertTrue(machines.get(follower).commands().size() < 300, "its state is behind: " + machines.get(follower).commands().size());
        assertEquals(WriteStatus.NOT_READY, restarted.localReadStatus(), "a local read would see a state older than the one it served");

        network.heal();
        restarted.waitFor(m -> restarted.localReadStatus() == WriteStatus.OK, Duration.ofSeconds(15));
        assertTrue(machines.get(follower).commands().size() >= 300, "ready only with every write it had seen committed: " +
            machines.get(follower).commands().size());
        leader = leader();
        assertEquals(machines.get(leader.nodeId()).commands().subList(0, 300), machines.get(follower).commands().subList(0, 300));
    }

    @Test
    void learnerIsAddedThenPromotedWhileAVoterIsRemovedUnderLoad() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        final Raft node4 = start(4, null);
        Raft leader = leader();
        final long removed = leader.nodeId() == 3 ? 2 : 3;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong okWrites = new AtomicLong();
        final Raft writeTo = leader;
        final Thread load = new Thread(() ->
        {
            long i = 1_000_000;
            while (!stop.get())
            {
                try
                {
                    if (writeTo.clientWrite(command(i++)).get(10, TimeUnit.SECONDS).isOk())
                    {
                        okWrites.incrementAndGet();
                    }
                }
                catch (final Exception ex)
                {
                    throw new IllegalStateException(ex);
                }
            }
        });
        load.start();
        final long loadDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (okWrites.get() < 10 && System.nanoTime() < loadDeadline)
        {
            Thread.sleep(1);
        }
        assertTrue(okWrites.get() >= 10, "the load is running");
        final AdminResult learner = leader.addLearner(4, null, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
        assertTrue(learner.isOk(), learner.toString());
        assertEquals(Role.LEARNER, node4.waitFor(m -> m.role() == Role.LEARNER, Duration.ofSeconds(5)).role());
        final long[] voters = java.util.stream.LongStream.of(1, 2, 3, 4).filter(n -> n != removed).toArray();
        final AdminResult change = leader.changeMembership(voters, false, Duration.ofSeconds(10)).get(15, TimeUnit.SECONDS);
        assertTrue(change.isOk(), change.toString());
        stop.set(true);
        load.join();
        assertEquals(Membership.of(voters), leader.metrics().membership());
        node4.waitFor(m -> m.role() == Role.FOLLOWER, Duration.ofSeconds(5));
        nodes.get(removed).waitFor(m -> m.role() == Role.LEARNER, Duration.ofSeconds(5));
        final AdminResult again = leader.changeMembership(voters, false, Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS);
        assertTrue(again.isOk(), "a change to the current voters is a no-op");
        writeAll(leader, 0, 100);
        assertSameStateEverywhere(leader, voters);
    }

    @Test
    void changeToNodesThatAreDownTimesOutAndTheClusterWorksOn() throws Exception
    {
        final Membership withLearner = Membership.of(1, 2, 3).withLearner(4, null);
        for (long id = 1; id <= 3; id++)
        {
            start(id, withLearner);
        }
        final Raft leader = leader();
        writeAll(leader, 0, 10);
        final AdminResult result = leader.changeMembership(new long[]{1, 2, 4}, false, Duration.ofMillis(500)).get(5, TimeUnit.SECONDS);
        assertEquals(AdminStatus.TIMED_OUT, result.status(), result.toString());
        assertEquals(withLearner, leader.metrics().membership(), "nothing changed");
        writeAll(leader, 10, 20);
    }

    @Test
    void leaderTransferHandsOverAndTheTargetLeads() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        final Raft leader = leader();
        writeAll(leader, 0, 100);
        final long target = leader.nodeId() == 1 ? 2 : 1;
        final AdminResult result = leader.transferLeader(target, Duration.ofSeconds(5)).get(10, TimeUnit.SECONDS);
        assertTrue(result.isOk(), result.toString());
        nodes.get(target).waitFor(m -> m.role() == Role.LEADER, Duration.ofSeconds(5));
        writeAll(nodes.get(target), 100, 200);
        assertSameStateEverywhere(nodes.get(target), 1, 2, 3);
        final AdminResult unknown = nodes.get(target).transferLeader(9, Duration.ofSeconds(1)).get(5, TimeUnit.SECONDS);
        assertEquals(AdminStatus.INVALID, unknown.status());
    }

    @Test
    void leaseReadsNeedNoRoundTripAndSeeAcknowledgedWrites() throws Exception
    {
        final Membership three = Membership.of(1, 2, 3);
        for (long id = 1; id <= 3; id++)
        {
            start(id, three);
        }
        final Raft leader = leader();
        final WriteResult written = leader.clientWrite(command(7)).get(5, TimeUnit.SECONDS);
        Thread.sleep(100); // a heartbeat round answered: the lease holds
        final long index = leader.ensureLinearizable(ReadPolicy.LEASE).get(5, TimeUnit.SECONDS);
        assertTrue(index >= written.index());
        final Raft follower = nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        assertTrue(follower.ensureLinearizable(ReadPolicy.LEASE).get(5, TimeUnit.SECONDS) >= written.index(),
            "a follower falls back to asking the leader");
    }

    @Test
    void countersFileIsReadableFromOutside(@TempDir final Path dir) throws Exception
    {
        final Path file = dir.resolve("node-1.counters");
        final Raft node = Raft.start(config(1).countersFile(file).threadingMode(ThreadingMode.SHARED), new InMemoryLogStorage(),
            network.endpoint(1), new RecordingStateMachine(), Membership.of(1));
        nodes.put(1L, node);
        node.waitFor(m -> m.role() == Role.LEADER, Duration.ofSeconds(5));
        final Map<String, Long> counters = RaftCounters.readFile(file);
        assertEquals((long)Role.LEADER.ordinal(), counters.get("ringraft node 1 role"));
        assertEquals(1L, counters.get("ringraft node 1 leader"));
        assertTrue(counters.get("ringraft node 1 term") >= 1);
        assertFalse(counters.isEmpty());
    }
}
