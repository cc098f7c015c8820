package io.ringraft.storage.chronicle;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.storage.InMemorySnapshotStore;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's embedding example on Chronicle: three nodes started as the README shows (an in-JVM
 * network, a Chronicle log and a file snapshot store per node, default settings, so a snapshot every
 * 100,000 entries purges the log), 300,000 writes, every node closed, every node restarted on its
 * directories: each comes back with the identical state. Before the fix the example used the short
 * {@code Raft.start}, whose snapshots lived in memory, and the restart stopped behind the purged log.
 */
class EmbeddingRestartTest
{
    private static final int WRITES = 300_000;
    private static final int KEYS = 10_000;
    private static final int WINDOW = 1_024;
    private static final Membership MEMBERS = Membership.of(1, 2, 3);

    @TempDir
    Path dir;

    private final List<Raft> nodes = new ArrayList<>();

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    /** The README's example, node by node (the directories per node are the test's). */
    private Raft start(final InJvmNetwork network, final long id, final KvStateMachine stateMachine)
    {
        final Path dataDir = dir.resolve("node-" + id);
        final Raft node = Raft.start(
            new RaftConfig().nodeId(id),
            ChronicleLogStorage.open(new ChronicleStorageContext().directory(dataDir.resolve("raft"))),
            FileSnapshotStore.open(dataDir.resolve("snapshots")),
            network.endpoint(id),
            stateMachine,
            MEMBERS);
        nodes.add(node);
        return node;
    }

    private Raft leader() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline)
        {
            for (final Raft node : nodes)
            {
                if (node.isLeader())
                {
                    return node;
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("no leader within 30 s");
    }

    /**
     * @return the index a linearizable read through the leader waits for; asked again of the next
     * leader when the one asked lost its leadership meanwhile (an election on a loaded machine)
     */
    private long linearizableIndex() throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true)
        {
            try
            {
                return leader().ensureLinearizable().get(30, TimeUnit.SECONDS);
            }
            catch (final ExecutionException ex)
            {
                if (!(ex.getCause() instanceof RaftException) || ((RaftException)ex.getCause()).status() != WriteStatus.NOT_LEADER ||
                    System.nanoTime() > deadline)
                {
                    throw ex;
                }
            }
        }
    }

    @Test
    void readmeExampleRestartsAfter300kWritesWithItsStateIntact() throws Exception
    {
        InJvmNetwork network = new InJvmNetwork(4096);
        final KvStateMachine[] before = new KvStateMachine[3];
        for (int i = 0; i < 3; i++)
        {
            before[i] = new KvStateMachine(false);
            start(network, i + 1, before[i]);
        }
        writeAll();
        final long applied = linearizableIndex();
        for (final Raft node : nodes)
        {
            node.waitFor(m -> m.appliedIndex() >= applied, Duration.ofSeconds(60));
            assertTrue(node.metrics().purgedIndex() >= 100_000, "snapshots purged the log of node " + node.nodeId() + ": " + node.metrics());
        }
        final Map<String, String> state = before[0].snapshotOfMap();
        assertEquals(KEYS, state.size());
        nodes.forEach(Raft::close);
        nodes.clear();

        network = new InJvmNetwork(4096);
        final KvStateMachine[] after = new KvStateMachine[3];
        for (int i = 0; i < 3; i++)
        {
            after[i] = new KvStateMachine(false);
            final Raft node = start(network, i + 1, after[i]);
            assertTrue(node.readyIndex() >= applied, "node " + node.nodeId() + " kept the commit index it had seen: " +
                node.readyIndex() + " of " + applied);
        }
        final long restartedApplied = linearizableIndex();
        for (int i = 0; i < 3; i++)
        {
            final Raft node = nodes.get(i);
            node.waitFor(m -> m.appliedIndex() >= restartedApplied, Duration.ofSeconds(60));
            assertEquals(WriteStatus.OK, node.localReadStatus(), "caught up: local reads served on node " + node.nodeId());
            assertEquals(state, after[i].snapshotOfMap(), "state of node " + node.nodeId() + " after the restart");
            assertTrue(after[i].digest().sameStateAs(before[i].digest()), "node " + node.nodeId() + ": " + after[i].digest() +
                " vs " + before[i].digest());
        }
    }

    @Test
    void aDurableLogWithSnapshotsInMemoryIsRefusedAtStartWithOneLine()
    {
        final InJvmNetwork network = new InJvmNetwork(64);
        try (ChronicleLogStorage log = ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir.resolve("raft"))))
        {
            final IllegalArgumentException shortForm = assertThrows(IllegalArgumentException.class, () ->
                Raft.start(new RaftConfig().nodeId(1), log, network.endpoint(1), new KvStateMachine(false), MEMBERS));
            assertTrue(shortForm.getMessage().contains("durable snapshot store") && !shortForm.getMessage().contains("\n"),
                shortForm.getMessage());
            final IllegalArgumentException longForm = assertThrows(IllegalArgumentException.class, () ->
                Raft.start(new RaftConfig().nodeId(1), log, new InMemorySnapshotStore(), network.endpoint(2), new KvStateMachine(false),
                    MEMBERS));
            assertTrue(longForm.getMessage().contains("ChronicleLogStorage") && longForm.getMessage().contains("InMemorySnapshotStore"),
                longForm.getMessage());
        }
    }

    /** PUT k(i mod 10,000) = i for i below 300,000, a window in flight; a write refused or aborted goes again (a PUT may repeat). */
    private void writeAll() throws InterruptedException
    {
        final AtomicIntegerArray done = new AtomicIntegerArray(WRITES);
        final Semaphore window = new Semaphore(WINDOW);
        final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) ->
        {
            if (status == WriteStatus.OK)
            {
                done.set((int)correlationId, 1);
            }
            window.release();
        };
        final ExpandableArrayBuffer command = new ExpandableArrayBuffer(64);
        final long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        int missing = WRITES;
        while (missing > 0)
        {
            assertTrue(System.nanoTime() < deadline, missing + " writes not acknowledged within 5 minutes");
            final Raft leader = leader();
            for (int i = 0; i < WRITES; i++)
            {
                if (done.get(i) != 0)
                {
                    continue;
                }
                window.acquire();
                final int length = KvStateMachine.encodeCommand(command, 0, KvStateMachine.PUT, 1, i,
                    ("k" + (i % KEYS)).getBytes(StandardCharsets.UTF_8), String.valueOf(i).getBytes(StandardCharsets.UTF_8), null);
                if (leader.clientWrite(command, 0, length, i, handler) != WriteStatus.OK)
                {
                    window.release();
                    Thread.sleep(1);
                }
            }
            window.acquire(WINDOW);
            window.release(WINDOW);
            missing = 0;
            for (int i = 0; i < WRITES; i++)
            {
                missing += 1 - done.get(i);
            }
        }
        assertTrue(leader().leaderId() != Vote.NO_NODE);
    }
}
