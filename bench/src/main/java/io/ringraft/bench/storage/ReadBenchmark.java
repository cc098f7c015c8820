package io.ringraft.bench.storage;

import io.ringraft.EntryType;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.EntryReader;
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
import org.openjdk.jmh.infra.Blackhole;

import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Reads from a log of {@code entries} 64-byte entries in segments of {@code segmentEntries}: one
 * entry at a random index (a lagging follower's first read), and 256 entries in sequence from a
 * random index (a replication batch: one seek, then the tailer reads on). With
 * {@code spread = segment} the random indexes stay in the last segment; with {@code log} they
 * range over the whole log, so most reads switch cycle files. Scores are per entry.
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ReadBenchmark
{
    @Param({"1000000"})
    public long entries;

    @Param({"65536"})
    public int segmentEntries;

    @Param({"segment", "log"})
    public String spread;

    private long low;

    private final SplittableRandom random = new SplittableRandom(7);
    private Path dir;
    private ChronicleLogStorage storage;
    private Blackhole blackhole;
    private final EntryReader reader = (term, index, type, buffer, offset, length) ->
    {
        blackhole.consume(buffer.getLong(offset));
        return true;
    };

    @Setup(Level.Trial)
    public void fill(final Blackhole blackhole)
    {
        this.blackhole = blackhole;
        dir = BenchDirs.create("read");
        storage = ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir).durability(DurabilityPolicy.NONE)
            .segmentEntries(segmentEntries));
        low = spread.equals("segment") ? entries - entries % segmentEntries + 1 : 1;
        if (entries - low < 1024)
        {
            low = Math.max(1, entries - segmentEntries + 1);
        }
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
        for (long i = 1; i <= entries; i++)
        {
            payload.putLong(0, i);
            storage.append(1, i, EntryType.NORMAL, payload, 0, 64);
        }
        storage.flush();
    }

    @TearDown(Level.Trial)
    public void close()
    {
        storage.close();
        BenchDirs.delete(dir);
    }

    @Benchmark
    public int randomOne()
    {
        final long index = low + random.nextLong(entries - low + 1);
        return storage.read(index, index + 1, reader);
    }

    @Benchmark
    @OperationsPerInvocation(256)
    public int sequential256()
    {
        final long index = low + random.nextLong(entries - low - 255);
        return storage.read(index, index + 256, reader);
    }
}
