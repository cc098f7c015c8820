package io.ringraft.bench.storage;

import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
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

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

/**
 * The ways to make one 64-byte Chronicle append durable, measured on the raw queue:
 * {@code NONE} (page cache only), {@code MSYNC} (Chronicle's own facility: {@code syncMode(SYNC)}
 * and {@code appender.sync()}, an msync(MS_SYNC) of the pages written since the last one),
 * {@code FDATASYNC} ({@code FileChannel.force(false)} on the cycle file: what
 * {@code ChronicleLogStorage} does) and {@code FSYNC} ({@code force(true)}, metadata too).
 */
@State(Scope.Thread)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SyncBenchmark
{
    @Param({"NONE", "MSYNC", "FDATASYNC", "FSYNC"})
    public String method;

    private final byte[] excerpt = new byte[64];
    private Path dir;
    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private FileChannel channel;

    @Setup(Level.Iteration)
    public void open() throws IOException
    {
        dir = BenchDirs.create("sync");
        final SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(dir).rollCycle(RollCycles.FAST_DAILY);
        if (method.equals("MSYNC"))
        {
            builder.syncMode(SyncMode.SYNC);
        }
        queue = builder.build();
        appender = queue.createAppender();
        append();
        channel = FileChannel.open(appender.currentFile().toPath(), StandardOpenOption.WRITE);
    }

    @TearDown(Level.Iteration)
    public void close() throws IOException
    {
        channel.close();
        appender.close();
        queue.close();
        BenchDirs.delete(dir);
    }

    private void append()
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            dc.wire().bytes().write(excerpt, 0, excerpt.length);
        }
    }

    @Benchmark
    public void appendAndSync() throws IOException
    {
        append();
        switch (method)
        {
            case "MSYNC" -> appender.sync();
            case "FDATASYNC" -> channel.force(false);
            case "FSYNC" -> channel.force(true);
            default ->
            {
            }
        }
    }
}
