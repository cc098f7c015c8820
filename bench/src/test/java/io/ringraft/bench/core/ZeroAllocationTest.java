package io.ringraft.bench.core;

import io.ringraft.Raft;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.bench.BenchClusters;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zero-allocation write path, measured on {@link RaftCoreBenchmark}'s cluster: three nodes in
 * {@link ThreadingMode#INVOKER} driven by the test thread (leaders, followers, state-machine
 * workers, in-JVM network, in-memory logs purged by snapshots and sized for the longest log
 * between two, an event listener on every node), 64-byte writes through the handler form of
 * {@code clientWrite}. After a warm-up
 * past the first snapshot, the bytes this thread allocates per committed write must stay below
 * one: a single object per write would cost at least 16.
 */
class ZeroAllocationTest
{
    private static final int PAYLOAD = 64;

    private InProcessCluster cluster;
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
        if (cluster != null)
        {
            cluster.close();
        }
    }

    @ParameterizedTest(name = "window {0}")
    @ValueSource(ints = {1, 64, 1024})
    void steadyStateWritesAllocateNothing(final int window)
    {
        // Long election timeouts: a stall of the test thread on a loaded machine must not move the leadership.
        cluster = new InProcessCluster(ThreadingMode.INVOKER, false, window, 5_000);
        final int warmup = 150_000; // past the first snapshot and purge (every 100,000 entries)
        final int measured = window == 1 ? 100_000 : 300_000;
        write(window, warmup);

        final long eventsBefore = cluster.events.count.get();
        final long before = BenchClusters.threadAllocatedBytes();
        write(window, measured);
        final long allocated = BenchClusters.threadAllocatedBytes() - before;
        assertTrue(cluster.events.count.get() > eventsBefore, "the event listener heard of the snapshots built meanwhile");

        assertEquals(0, failed, "failed writes");
        final double perWrite = (double)allocated / measured;
        final String report = String.format("window %d: %d bytes for %d writes (%.3f B/write); leader %s", window, allocated,
            measured, perWrite, cluster.leader.metrics());
        System.out.println("zero-allocation path, " + report);
        assertTrue(perWrite < 1.0, report);
    }

    /** Submits {@code count} writes keeping up to {@code window} in flight, and waits for all of them. */
    private void write(final int window, final int count)
    {
        final Raft leader = cluster.leader;
        final long target = submitted + count;
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
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
            cluster.drive();
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("writes stalled at " + completed + " of " + target);
            }
        }
    }
}
