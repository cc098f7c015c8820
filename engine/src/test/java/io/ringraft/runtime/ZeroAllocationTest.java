package io.ringraft.runtime;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Role;
import io.ringraft.network.InJvmNetwork;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zero-allocation write path, measured: three nodes in {@link ThreadingMode#INVOKER} driven
 * by the test thread (leader, followers, state-machine workers, in-JVM network, in-memory logs
 * purged by snapshots and sized for the longest log between two), the handler form of
 * {@code clientWrite}. After a warm-up that grows every other buffer to its steady size, the bytes
 * this thread allocates per committed write must stay below one: a single object per write would
 * cost at least 16.
 */
class ZeroAllocationTest
{
    private static final int PAYLOAD = 64;

    private Raft[] nodes;
    private final InMemoryLogStorage[] logs = new InMemoryLogStorage[3];
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[PAYLOAD]);
    private long submitted;
    private long completed;
    private long failed;
    private final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) ->
    {
        if (status != WriteStatus.OK)
        {
            failed++;
        }
        completed++;
    };

    @AfterEach
    void close()
    {
        if (nodes != null)
        {
            for (final Raft node : nodes)
            {
                node.close();
            }
        }
    }

    @ParameterizedTest(name = "window {0}")
    @ValueSource(ints = {1, 64, 1024})
    void steadyStateWritesAllocateNothing(final int window)
    {
        final Raft leader = startCluster(window);
        final int warmup = window == 1 ? 60_000 : 150_000;
        final int measured = window == 1 ? 40_000 : 150_000;
        write(leader, window, warmup);

        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long thread = Thread.currentThread().getId();
        final long before = threads.getThreadAllocatedBytes(thread);
        write(leader, window, measured);
        final long allocated = threads.getThreadAllocatedBytes(thread) - before;

        assertEquals(0, failed, "failed writes");
        final double perWrite = (double)allocated / measured;
        System.out.printf("zero-allocation path, window %d: %d bytes for %d writes (%.3f B/write); logs%s%n", window, allocated,
            measured, perWrite, describeLogs());
        assertTrue(perWrite < 1.0, () -> String.format("%.2f bytes allocated per write (%d bytes for %d writes at window %d); logs %s",
            perWrite, allocated, measured, window, describeLogs()));
    }

    private String describeLogs()
    {
        final StringBuilder sb = new StringBuilder();
        for (final InMemoryLogStorage log : logs)
        {
            sb.append(' ').append(log.lastPurgedIndex()).append("..").append(log.lastLogIndex());
        }
        return sb.toString();
    }

    /** Submits {@code count} writes keeping up to {@code window} in flight, and waits for all of them. */
    private void write(final Raft leader, final int window, final int count)
    {
        final long target = submitted + count;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (completed < target)
        {
            if (submitted < target && submitted - completed < window)
            {
                payload.putLong(0, submitted);
                if (leader.clientWrite(payload, 0, PAYLOAD, submitted, handler) == WriteStatus.OK)
                {
                    submitted++;
                    continue;
                }
            }
            for (final Raft node : nodes)
            {
                node.doWork();
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("writes stalled at " + completed + " of " + target);
            }
        }
    }

    private Raft startCluster(final int window)
    {
        final InJvmNetwork network = new InJvmNetwork(1024, 4 * 1024 * 1024);
        nodes = new Raft[3];
        for (int i = 0; i < 3; i++)
        {
            final long id = i + 1;
            final RaftConfig config = new RaftConfig().nodeId(id).threadingMode(ThreadingMode.INVOKER).randomSeed(id)
                .electionTimeout(2, 4, TimeUnit.SECONDS).heartbeatInterval(50, TimeUnit.MILLISECONDS)
                .ingressRingSize(Math.max(1024, Integer.highestOneBit(window) * 4)).applyRingSize(16_384)
                .snapshotEveryEntries(40_000).logRetainEntries(1024);
            // Sized for the longest log between snapshots, so that no growth lands in the measurement.
            logs[i] = new InMemoryLogStorage(64 * 1024, 64L * 1024 * (PAYLOAD + 8));
            nodes[i] = Raft.start(config, logs[i], network.endpoint(id), new CountingMachine(), Membership.of(1, 2, 3));
        }
        nodes[0].triggerElection();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (nodes[0].metrics().role() != Role.LEADER)
        {
            for (final Raft node : nodes)
            {
                node.doWork();
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("node 1 was not elected");
            }
        }
        return nodes[0];
    }

    /** Counts and sums what it applies; its snapshot is those two numbers. */
    private static final class CountingMachine implements RaftStateMachine
    {
        private final UnsafeBuffer snapshot = new UnsafeBuffer(new byte[16]);
        private long count;
        private long sum;

        @Override
        public LogId lastApplied()
        {
            return LogId.ZERO;
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            count++;
            sum += payload.getLong(offset);
            return 0;
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            snapshot.putLong(0, count);
            snapshot.putLong(8, sum);
            writer.write(snapshot, 0, 16);
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            reader.read(0, snapshot, 0, 16);
            count = snapshot.getLong(0);
            sum = snapshot.getLong(8);
        }
    }
}
