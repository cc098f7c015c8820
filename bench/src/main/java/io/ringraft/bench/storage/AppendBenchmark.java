package io.ringraft.bench.storage;

import io.ringraft.EntryType;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Appends of 64-byte entries to a {@link ChronicleLogStorage}, singly and in batches of 16 and
 * 256, each batch followed by one {@code flush()} (the engine's group commit), per durability
 * policy. Scores are per entry ({@code @OperationsPerInvocation}). A fresh log per iteration.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AppendBenchmark
{
    @Param({"NONE", "BATCH", "ALWAYS"})
    public DurabilityPolicy policy;

    private final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
    private Path dir;
    private ChronicleLogStorage storage;
    private long next;

    @Setup(Level.Iteration)
    public void open()
    {
        dir = BenchDirs.create("append");
        storage = ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir).durability(policy));
        next = 1;
    }

    @TearDown(Level.Iteration)
    public void close()
    {
        storage.close();
        BenchDirs.delete(dir);
    }

    private long appendAndFlush(final int count)
    {
        for (int i = 0; i < count; i++)
        {
            payload.putLong(0, next);
            storage.append(1, next++, EntryType.NORMAL, payload, 0, 64);
        }
        return storage.flush();
    }

    @Benchmark
    public long single()
    {
        return appendAndFlush(1);
    }

    @Benchmark
    @OperationsPerInvocation(16)
    public long batch16()
    {
        return appendAndFlush(16);
    }

    @Benchmark
    @OperationsPerInvocation(256)
    public long batch256()
    {
        return appendAndFlush(256);
    }
}
