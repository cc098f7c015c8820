package io.ringraft.bench.storage;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Open time of a log of {@code entries} 64-byte entries: recovery reads and checks (CRC32C,
 * contiguity) every entry and rebuilds the segment table. The log is written once per trial; the
 * files stay in the page cache, so this is the warm-cache open.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class RecoveryBenchmark
{
    @Param({"1000000", "10000000"})
    public long entries;

    private Path dir;

    private ChronicleStorageContext context()
    {
        return new ChronicleStorageContext().directory(dir).durability(DurabilityPolicy.NONE);
    }

    @Setup(Level.Trial)
    public void fill()
    {
        dir = BenchDirs.create("recovery");
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context()))
        {
            final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
            for (long i = 1; i <= entries; i++)
            {
                payload.putLong(0, i);
                storage.append(1, i, EntryType.NORMAL, payload, 0, 64);
            }
            storage.flush();
        }
    }

    @TearDown(Level.Trial)
    public void delete()
    {
        BenchDirs.delete(dir);
    }

    @Benchmark
    public LogId open()
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context()))
        {
            final LogId last = storage.lastLogId();
            if (last.index() != entries)
            {
                throw new IllegalStateException("recovered " + last + ", wrote " + entries);
            }
            return last;
        }
    }
}
