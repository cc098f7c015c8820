package io.ringraft.storage.chronicle;

import io.ringraft.storage.DurabilityPolicy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * Settings of a {@link ChronicleLogStorage}: fluent setters, defaults from system properties, and
 * one {@link #conclude()} that validates them all and names the bad setting and its value.
 */
public final class ChronicleStorageContext
{
    /** System property for the default {@link #directory(Path)}. */
    public static final String DIRECTORY_PROP = "ringraft.storage.dir";
    /** System property for the default {@link #durability(DurabilityPolicy)}: NONE, BATCH or ALWAYS. */
    public static final String DURABILITY_PROP = "ringraft.storage.durability";
    /** System property for the default {@link #segmentEntries(int)}. */
    public static final String SEGMENT_ENTRIES_PROP = "ringraft.storage.segmentEntries";
    /** System property for the default {@link #blockSize(long)}. */
    public static final String BLOCK_SIZE_PROP = "ringraft.storage.blockSize";
    /** System property for the default {@link #indexSpacing(int)}. */
    public static final String INDEX_SPACING_PROP = "ringraft.storage.indexSpacing";
    /** System property for the default {@link #flusherThread(boolean)}: true or false. */
    public static final String FLUSHER_THREAD_PROP = "ringraft.storage.flusherThread";
    /** System property for the default {@link #minFreeBytes(long)}. */
    public static final String MIN_FREE_BYTES_PROP = "ringraft.storage.minFreeBytes";
    /** System property for the default {@link #syncDelayNanos(long)}, in milliseconds. */
    public static final String SYNC_DELAY_MS_PROP = "ringraft.storage.syncDelayMs";

    public static final int DEFAULT_SEGMENT_ENTRIES = 256 * 1024;
    public static final long DEFAULT_BLOCK_SIZE = 16L << 20;
    public static final int DEFAULT_INDEX_SPACING = 16;
    public static final int MIN_SEGMENT_ENTRIES = 2;
    public static final int MAX_SEGMENT_ENTRIES = 1 << 30;
    public static final long MIN_BLOCK_SIZE = 64L << 10;
    public static final long MAX_BLOCK_SIZE = 1L << 30;
    public static final int MAX_INDEX_SPACING = 4096;
    /** The default {@link #minFreeBytes(long)}: 64 MiB. */
    public static final long DEFAULT_MIN_FREE_BYTES = 64L << 20;
    /** The longest {@link #syncDelayNanos(long)}: one minute. */
    public static final long MAX_SYNC_DELAY_NANOS = 60_000_000_000L;
    /** The largest payload, whatever the block size. */
    public static final int MAX_PAYLOAD_LENGTH = 16 << 20;

    private Path directory;
    private DurabilityPolicy durability;
    private int segmentEntries;
    private long blockSize;
    private int indexSpacing;
    private boolean flusherThread;
    private long minFreeBytes;
    private long syncDelayNanos;
    private boolean concluded;

    /** A context with the defaults of the system properties. */
    public ChronicleStorageContext()
    {
        final String dir = System.getProperty(DIRECTORY_PROP);
        directory = dir == null ? null : Paths.get(dir);
        final String policy = System.getProperty(DURABILITY_PROP, DurabilityPolicy.BATCH.name());
        try
        {
            durability = DurabilityPolicy.valueOf(policy);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException(DURABILITY_PROP + "=" + policy + " is not one of NONE, BATCH, ALWAYS", ex);
        }
        segmentEntries = (int)longProperty(SEGMENT_ENTRIES_PROP, DEFAULT_SEGMENT_ENTRIES);
        blockSize = longProperty(BLOCK_SIZE_PROP, DEFAULT_BLOCK_SIZE);
        indexSpacing = (int)longProperty(INDEX_SPACING_PROP, DEFAULT_INDEX_SPACING);
        final String flusher = System.getProperty(FLUSHER_THREAD_PROP, "true").trim();
        if (!flusher.equals("true") && !flusher.equals("false"))
        {
            throw new IllegalArgumentException(FLUSHER_THREAD_PROP + "=" + flusher + " is not true or false");
        }
        flusherThread = Boolean.parseBoolean(flusher);
        minFreeBytes = longProperty(MIN_FREE_BYTES_PROP, DEFAULT_MIN_FREE_BYTES);
        final long delayMs = longProperty(SYNC_DELAY_MS_PROP, 0);
        syncDelayNanos = delayMs < 0 || delayMs > MAX_SYNC_DELAY_NANOS / 1_000_000 ? -1 : delayMs * 1_000_000;
        if (syncDelayNanos < 0)
        {
            throw new IllegalArgumentException(SYNC_DELAY_MS_PROP + "=" + delayMs + " is outside [0, " +
                MAX_SYNC_DELAY_NANOS / 1_000_000 + "]");
        }
    }

    /** @param directory where the log, the vote and the metadata live; created if absent */
    public ChronicleStorageContext directory(final Path directory)
    {
        this.directory = directory;
        return this;
    }

    public Path directory()
    {
        return directory;
    }

    /** @param durability what {@link ChronicleLogStorage#flush()} and appends make durable */
    public ChronicleStorageContext durability(final DurabilityPolicy durability)
    {
        this.durability = durability;
        return this;
    }

    public DurabilityPolicy durability()
    {
        return durability;
    }

    /**
     * @param segmentEntries entries per segment (one Chronicle cycle file): the unit of purge and
     *                       the most a truncation copies
     */
    public ChronicleStorageContext segmentEntries(final int segmentEntries)
    {
        this.segmentEntries = segmentEntries;
        return this;
    }

    public int segmentEntries()
    {
        return segmentEntries;
    }

    /** @param blockSize Chronicle's mapping chunk size in bytes, a power of two; small for tests */
    public ChronicleStorageContext blockSize(final long blockSize)
    {
        this.blockSize = blockSize;
        return this;
    }

    public long blockSize()
    {
        return blockSize;
    }

    /** @param indexSpacing one Chronicle index entry per this many entries, a power of two; lower reads faster at random */
    public ChronicleStorageContext indexSpacing(final int indexSpacing)
    {
        this.indexSpacing = indexSpacing;
        return this;
    }

    public int indexSpacing()
    {
        return indexSpacing;
    }

    /**
     * @param flusherThread under {@code BATCH}: true (the default) to sync on a thread of the
     *                      storage's own, so that {@code flush()} never waits on the disk and
     *                      returns what is durable so far; false to sync on the thread that calls
     *                      {@code flush()}, before it returns. {@code NONE} never syncs and
     *                      {@code ALWAYS} syncs every append on the caller's thread, whatever this says.
     */
    public ChronicleStorageContext flusherThread(final boolean flusherThread)
    {
        this.flusherThread = flusherThread;
        return this;
    }

    public boolean flusherThread()
    {
        return flusherThread;
    }

    /**
     * @param minFreeBytes the usable space the log's file system must keep: when less is left,
     *                     the next frame written fails with a {@code RaftStorageException} saying
     *                     the disk is full (the node fails stop) rather than writing into mapped
     *                     pages the file system may not be able to back (a SIGBUS); looked at each
     *                     time a quarter of it has been written. 0 switches the check off.
     */
    public ChronicleStorageContext minFreeBytes(final long minFreeBytes)
    {
        this.minFreeBytes = minFreeBytes;
        return this;
    }

    public long minFreeBytes()
    {
        return minFreeBytes;
    }

    /**
     * @param nanos an extra delay before every sync of the log, as a slow disk would add: for
     *              fault injection (a node process takes it from {@value #SYNC_DELAY_MS_PROP} or
     *              its config's {@code storage.sync.delay.ms}); 0, the default, for none. It can be
     *              changed on an open storage with {@link ChronicleLogStorage#syncDelayNanos(long)}.
     */
    public ChronicleStorageContext syncDelayNanos(final long nanos)
    {
        this.syncDelayNanos = nanos;
        return this;
    }

    public long syncDelayNanos()
    {
        return syncDelayNanos;
    }

    /** @return the smallest power-of-two index count whose capacity covers a segment */
    int indexCount()
    {
        int count = 8;
        while ((long)count * count * indexSpacing < segmentEntries)
        {
            count <<= 1;
        }
        return count;
    }

    /** @return the largest frame of small entries: Chronicle holds an excerpt of up to a quarter block */
    int maxFrameBytes()
    {
        return (int)Math.min(64 << 10, blockSize / 4);
    }

    /** @return the largest payload this block size can hold */
    int maxPayloadLength()
    {
        return (int)Math.min(MAX_PAYLOAD_LENGTH, blockSize / 4 - ChronicleLogStorage.HEADER_LENGTH - ChronicleLogStorage.CRC_LENGTH);
    }

    /**
     * Validates every setting and creates the directory.
     *
     * @return this
     * @throws IllegalArgumentException naming the first bad setting and its value
     */
    public ChronicleStorageContext conclude()
    {
        if (concluded)
        {
            return this;
        }
        if (directory == null)
        {
            throw new IllegalArgumentException("directory is not set (set it or -D" + DIRECTORY_PROP + ")");
        }
        if (Files.exists(directory) && !Files.isDirectory(directory))
        {
            throw new IllegalArgumentException("directory=" + directory + " is not a directory");
        }
        try
        {
            Files.createDirectories(directory);
        }
        catch (final IOException | UnsupportedOperationException ex)
        {
            throw new IllegalArgumentException("directory=" + directory + " cannot be created: " + ex, ex);
        }
        if (!Files.isWritable(directory))
        {
            throw new IllegalArgumentException("directory=" + directory + " is not writable");
        }
        if (durability == null)
        {
            throw new IllegalArgumentException("durability is not set (NONE, BATCH or ALWAYS)");
        }
        if (segmentEntries < MIN_SEGMENT_ENTRIES || segmentEntries > MAX_SEGMENT_ENTRIES)
        {
            throw new IllegalArgumentException("segmentEntries=" + segmentEntries + " is outside [" + MIN_SEGMENT_ENTRIES + ", " +
                MAX_SEGMENT_ENTRIES + "]");
        }
        if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || Long.bitCount(blockSize) != 1)
        {
            throw new IllegalArgumentException("blockSize=" + blockSize + " is not a power of two in [" + MIN_BLOCK_SIZE + ", " +
                MAX_BLOCK_SIZE + "]");
        }
        if (indexSpacing < 1 || indexSpacing > MAX_INDEX_SPACING || Integer.bitCount(indexSpacing) != 1)
        {
            throw new IllegalArgumentException("indexSpacing=" + indexSpacing + " is not a power of two in [1, " + MAX_INDEX_SPACING + "]");
        }
        if (minFreeBytes < 0)
        {
            throw new IllegalArgumentException("minFreeBytes=" + minFreeBytes + " is negative (0 switches the check off)");
        }
        if (syncDelayNanos < 0 || syncDelayNanos > MAX_SYNC_DELAY_NANOS)
        {
            throw new IllegalArgumentException("syncDelayNanos=" + syncDelayNanos + " is outside [0, " + MAX_SYNC_DELAY_NANOS + "]");
        }
        concluded = true;
        return this;
    }

    private static long longProperty(final String name, final long defaultValue)
    {
        final String value = System.getProperty(name);
        if (value == null)
        {
            return defaultValue;
        }
        try
        {
            return Long.parseLong(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(name + "=" + value + " is not a number", ex);
        }
    }

    @Override
    public String toString()
    {
        return "ChronicleStorageContext{directory=" + directory + ", durability=" + durability + ", segmentEntries=" + segmentEntries +
            ", blockSize=" + blockSize + ", indexSpacing=" + indexSpacing +
            ", flusherThread=" + flusherThread + ", minFreeBytes=" + minFreeBytes + ", syncDelayNanos=" + syncDelayNanos + "}";
    }
}
