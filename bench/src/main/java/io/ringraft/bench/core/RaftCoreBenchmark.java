package io.ringraft.bench.core;

import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Committed writes per second through {@code RaftCore} for three nodes in one JVM: in-JVM
 * network, in-memory logs, 64-byte payloads, the zero-allocation write API, a sliding window of
 * writes in flight. Each operation is one write submitted once the window has room; in steady
 * state that is one committed and applied write.
 * <p>
 * Modes: {@code INVOKER} — the benchmark thread drives the three nodes itself (one thread, no
 * hand-offs); {@code SHARED} — each node on its own thread with a backoff idle strategy (four
 * threads on this 2-core machine). Busy-spin is not measured here: four spinning threads on two
 * cores starve each other.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RaftCoreBenchmark
{
    @Param({"1", "16", "256", "4096"})
    public int window;

    @Param({"INVOKER", "SHARED"})
    public String mode;

    private InProcessCluster cluster;
    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
    private volatile long completed;
    private long submitted;
    private long failures;

    private final WriteHandler handler = (correlationId, status, index, leaderId, response, offset, length) ->
    {
        if (status != WriteStatus.OK)
        {
            failures++;
        }
        completed = completed + 1; // one writer: the leader's state-machine thread
    };

    @Setup(Level.Trial)
    public void setUp()
    {
        cluster = new InProcessCluster(ThreadingMode.valueOf(mode), false, window);
    }

    @TearDown(Level.Trial)
    public void tearDown()
    {
        if (failures > 0)
        {
            throw new IllegalStateException(failures + " writes failed");
        }
        cluster.close();
    }

    @Benchmark
    public long write()
    {
        while (submitted - completed >= window)
        {
            cluster.drive();
        }
        payload.putLong(0, submitted);
        while (cluster.leader.clientWrite(payload, 0, 64, submitted, handler) != WriteStatus.OK)
        {
            cluster.drive();
        }
        return ++submitted;
    }
}
