package io.ringraft.storage.chronicle;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * In {@code SHARED} mode (the default: the core and the state machine on one thread) neither a
 * large snapshot nor a slow state machine may hold up the leader's heartbeats: the snapshot is
 * built on the node's snapshot thread, and applying yields the thread after
 * {@code RaftConfig.applyTimeSlice}. Three nodes on Chronicle logs and file snapshot stores, a
 * writer keeping the leader busy; the largest gap between two AppendEntries (heartbeats and
 * replication) the leader sent to a follower is measured where it sends them, and no election may
 * happen. The snapshot is 64 MiB written slowly (about 2.5 s) by default; {@code
 * -Dringraft.soak=true} builds 1 GiB as fast as the disk takes it.
 */
class SharedThreadHeartbeatTest
{
    private static final boolean SOAK = Boolean.getBoolean("ringraft.soak");
    private static final long MIB = 1024 * 1024;
    private static final long HEARTBEAT_MS = 50;
    /** Far below the election timeout (1-2 s), far above a heartbeat: the machine running the tests is shared and loaded. */
    private static final long GAP_BOUND_MS = 500;

    @TempDir
    Path dir;

    private final InJvmNetwork network = new InJvmNetwork(4096);
    private final List<Raft> nodes = new ArrayList<>();
    private final AtomicLongArray lastSent = new AtomicLongArray(4);
    private final AtomicLongArray largestGap = new AtomicLongArray(4);
    private volatile long watchedLeader;

    @AfterEach
    void closeAll()
    {
        nodes.forEach(Raft::close);
    }

    @Test
    void aLargeSnapshotBuiltUnderLoadDelaysNoHeartbeat() throws Exception
    {
        final long size = SOAK ? 1024 * MIB : 64 * MIB;
        final long pauseNanosPerMib = SOAK ? 0 : TimeUnit.MILLISECONDS.toNanos(40);
        final BulkStateMachine[] machines = new BulkStateMachine[3];
        for (int i = 0; i < 3; i++)
        {
            machines[i] = new BulkStateMachine(size, pauseNanosPerMib, 0);
        }
        final Raft leader = startCluster(machines);
        final Load load = new Load(leader, 256);
        load.start();
        try
        {
            load.awaitWrites(2_000);
            final long term = leader.term();
            watch(leader);
            final long commitBefore = leader.commitIndex();
            final long started = System.nanoTime();
            final SnapshotMeta snapshot = leader.triggerSnapshot().get(SOAK ? 600 : 60, TimeUnit.SECONDS);
            final long buildMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            final long committedDuringBuild = leader.commitIndex() - commitBefore;
            final long gapMs = largestGapMs();
            System.out.println("snapshot " + snapshot.sizeBytes() / MIB + " MiB built in " + buildMs + " ms under load (SHARED, " +
                "heartbeat " + HEARTBEAT_MS + " ms): largest gap between AppendEntries from the leader " + gapMs + " ms; term " +
                term + " -> " + leader.term() + "; writes committed meanwhile " + committedDuringBuild);
            assertTrue(snapshot.sizeBytes() >= size, "snapshot of " + snapshot.sizeBytes() + " bytes");
            assertTrue(buildMs >= (SOAK ? 0 : 2_000), "a build long enough to matter: " + buildMs + " ms");
            assertTrue(gapMs < GAP_BOUND_MS, "largest heartbeat gap " + gapMs + " ms while the snapshot was built");
            assertEquals(term, leader.term(), "no election");
            assertTrue(leader.isLeader(), "still the leader");
            assertTrue(committedDuringBuild > 0, "writes committed while the snapshot was built");
        }
        finally
        {
            load.stop();
        }
    }

    @Test
    void aSlowStateMachineUnderLoadDelaysNoHeartbeatBeyondTheApplySlice() throws Exception
    {
        final BulkStateMachine[] machines = new BulkStateMachine[3];
        for (int i = 0; i < 3; i++)
        {
            // About 4,000 applies a second at most: the writer (16,384 in flight) keeps the apply ring full, 4,096 entries, over 1 s of applying.
            machines[i] = new BulkStateMachine(MIB, 0, TimeUnit.MICROSECONDS.toNanos(200));
        }
        final Raft leader = startCluster(machines);
        final Load load = new Load(leader, 16_384);
        load.start();
        try
        {
            load.awaitWrites(500);
            final long term = leader.term();
            watch(leader);
            final long commitBefore = leader.commitIndex();
            Thread.sleep(3_000);
            final long gapMs = largestGapMs();
            final long backlog = leader.commitIndex() - leader.appliedIndex();
            System.out.println("slow state machine (200 us an apply) under load (SHARED, heartbeat " + HEARTBEAT_MS + " ms, apply slice 1 ms): " +
                "largest gap between AppendEntries from the leader " + gapMs + " ms; apply backlog " + backlog + " entries; term " + term +
                " -> " + leader.term() + "; writes committed in 3 s " + (leader.commitIndex() - commitBefore));
            assertTrue(backlog >= 1_000, "the state machine is the bottleneck: backlog " + backlog);
            assertTrue(gapMs < GAP_BOUND_MS, "largest heartbeat gap " + gapMs + " ms while applying slowly");
            assertEquals(term, leader.term(), "no election");
        }
        finally
        {
            load.stop();
        }
    }

    private Raft startCluster(final BulkStateMachine[] machines) throws Exception
    {
        network.dropIf(message ->
        {
            if (message instanceof AppendEntriesRequest && message.from() == watchedLeader)
            {
                final int to = (int)message.to();
                final long now = System.nanoTime();
                final long previous = lastSent.getAndSet(to, now);
                if (previous != 0 && now - previous > largestGap.get(to))
                {
                    largestGap.set(to, now - previous);
                }
            }
            return false;
        });
        for (int i = 0; i < 3; i++)
        {
            final long id = i + 1;
            final Path data = dir.resolve("node-" + id);
            nodes.add(Raft.start(new RaftConfig().nodeId(id).threadingMode(ThreadingMode.SHARED)
                    .electionTimeout(1_000, 2_000, TimeUnit.MILLISECONDS).heartbeatInterval(HEARTBEAT_MS, TimeUnit.MILLISECONDS)
                    .snapshotEveryEntries(0),
                ChronicleLogStorage.open(new ChronicleStorageContext().directory(data.resolve("raft")).durability(DurabilityPolicy.NONE)),
                FileSnapshotStore.open(data.resolve("snapshots")), network.endpoint(id), machines[i], Membership.of(1, 2, 3)));
        }
        nodes.get(0).triggerElection();

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
        throw new AssertionError("no leader");
    }

    private void watch(final Raft leader)
    {
        for (int i = 0; i < 4; i++)
        {
            lastSent.set(i, 0);
            largestGap.set(i, 0);
        }
        watchedLeader = leader.nodeId();
    }

    private long largestGapMs()
    {
        long gap = 0;
        for (int i = 0; i < 4; i++)
        {
            gap = Math.max(gap, largestGap.get(i));
        }
        return TimeUnit.NANOSECONDS.toMillis(gap);
    }

    /** A writer thread keeping a window of writes in flight at the leader (a write leaves it once applied). */
    private static final class Load implements Runnable
    {
        private final Raft leader;
        private final Semaphore window;
        private final AtomicLong acknowledged = new AtomicLong();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread = new Thread(this, "load");

        Load(final Raft leader, final int window)
        {
            this.leader = leader;
            this.window = new Semaphore(window);
        }

        void start()
        {
            thread.start();
        }

        @Override
        public void run()
        {
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
            final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) ->
            {
                if (status == WriteStatus.OK)
                {
                    acknowledged.incrementAndGet();
                }
                window.release();
            };
            long n = 0;
            while (running.get())
            {
                try
                {
                    if (!window.tryAcquire(10, TimeUnit.MILLISECONDS))
                    {
                        continue;
                    }
                }
                catch (final InterruptedException ex)
                {
                    return;
                }
                payload.putLong(0, ++n);
                if (leader.clientWrite(payload, 0, payload.capacity(), n, handler) != WriteStatus.OK)
                {
                    window.release();
                    LockSupport.parkNanos(1_000_000);
                }
            }
        }

        void awaitWrites(final long count) throws InterruptedException
        {
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (acknowledged.get() < count)
            {
                assertTrue(System.nanoTime() < deadline, "only " + acknowledged.get() + " writes acknowledged");
                Thread.sleep(5);
            }
        }

        void stop() throws InterruptedException
        {
            running.set(false);
            thread.join(10_000);
        }
    }

    /**
     * Counts and hashes the commands it applies; its snapshot is that plus {@code size} bytes of
     * filler, written a MiB at a time with an optional pause per MiB (a slow disk or a slow
     * serializer); each apply may take {@code applyNanos}.
     */
    private static final class BulkStateMachine implements RaftStateMachine
    {
        private final long size;
        private final long pauseNanosPerMib;
        private final long applyNanos;
        private final UnsafeBuffer chunk = new UnsafeBuffer(new byte[(int)MIB]);
        private volatile LogId lastApplied = LogId.ZERO;
        private long count;
        private long hash;

        BulkStateMachine(final long size, final long pauseNanosPerMib, final long applyNanos)
        {
            this.size = size;
            this.pauseNanosPerMib = pauseNanosPerMib;
            this.applyNanos = applyNanos;
        }

        @Override
        public LogId lastApplied()
        {
            return lastApplied;
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            if (applyNanos > 0)
            {
                LockSupport.parkNanos(applyNanos);
            }
            count++;
            hash = hash * 31 + payload.getLong(offset);
            return 0;
        }

        @Override
        public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
        {
            lastApplied = new LogId(lastAppliedTerm, lastAppliedIndex);
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            final UnsafeBuffer header = new UnsafeBuffer(new byte[16]);
            header.putLong(0, count);
            header.putLong(8, hash);
            writer.write(header, 0, 16);
            for (long written = 0; written < size; written += MIB)
            {
                chunk.putLong(0, written);
                writer.write(chunk, 0, (int)MIB);
                if (pauseNanosPerMib > 0)
                {
                    LockSupport.parkNanos(pauseNanosPerMib);
                }
            }
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            final UnsafeBuffer header = new UnsafeBuffer(new byte[16]);
            reader.read(0, header, 0, 16);
            count = header.getLong(0);
            hash = header.getLong(8);
            lastApplied = meta.lastIncluded();
        }
    }
}
