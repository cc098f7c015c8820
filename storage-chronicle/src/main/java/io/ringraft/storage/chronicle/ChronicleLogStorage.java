package io.ringraft.storage.chronicle;

import io.ringraft.EntryType;
import io.ringraft.JvmFlags;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftStorageException;
import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.core.time.SetTimeProvider;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.RollCycles;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * The Raft log in a Chronicle Queue, with its vote beside it; see the package documentation for
 * the design. One thread at a time uses an instance.
 */
public final class ChronicleLogStorage implements RaftLogStorage
{
    static
    {
        // Chronicle phones home and prints a banner unless told not to; the build passes these in
        // ringraft.jvmFlags, and this keeps an embedder who forgot them quiet too. It runs before
        // any Chronicle class is initialised, since every path to Chronicle goes through here.
        defaultProperty("chronicle.analytics.disable", "true");
        defaultProperty("chronicle.announcer.disable", "true");
    }
    /** Entry header: raft index (8), term (8), type (1), reserved (3), payload length (4). */
    static final int HEADER_LENGTH = 24;
    static final int CRC_LENGTH = 4;
    /** At most this many entries per frame, so a random read walks a bounded frame. */
    static final int MAX_FRAME_ENTRIES = 256;
    static final RollCycle ROLL_CYCLE = RollCycles.FAST_HOURLY;
    static final String QUEUE_DIRECTORY = "log";
    static final String LOCK_FILE = "lock";
    private static final String CHRONICLE_METADATA = "metadata.cq4t";
    private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;
    // Chronicle's excerpt header word: a not-complete bit, a metadata bit, 30 bits of length.
    private static final int NOT_COMPLETE = 0x80000000;
    private static final int LENGTH_MASK = 0x3FFFFFFF;

    private final ChronicleStorageContext ctx;
    private final Path queueDirectory;
    private final Path metaFile;
    private final CycleFiles cycleFiles;
    private final FileVoteStore votes;
    private final FileChannel lockChannel;
    private final boolean durable;
    private final int indexCount;
    private final int maxPayloadLength;
    private final SetTimeProvider clock = new SetTimeProvider(0L);
    private final CRC32C crc = new CRC32C();
    private final UnsafeBuffer readBuffer = new UnsafeBuffer(new byte[4096]);

    // The frame being filled: entries appended since the last frame was written.
    private final UnsafeBuffer frame;
    private final int maxFrameBytes;
    private int frameLength;
    private int pendingCount;
    private long pendingFirst;
    private long pendingCursorNext = -1;
    private int pendingCursorOffset;

    // The frame table: frameFirst[f] is the first index of frame f; segment s's frames start at segmentFrame[s].
    private long[] frameFirst = new long[1024];
    private int frameCount;
    private int[] segmentFrame = new int[16];
    private long framesInCurrentCycle;

    // The read cursor over the frame in readBuffer, and where the last located entry is.
    private long cursorNext = -1;
    private int cursorOffset;
    private int cursorLength;
    private UnsafeBuffer entryBuffer;
    private int entryOffset;

    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private ExcerptTailer tailer;
    private FileChannel syncChannel;
    private int syncChannelCycle = -1;

    // The segment table: segment i is cycle segmentCycles[i], whose sequence 0 holds raft index segmentFirst[i].
    private int[] segmentCycles = new int[16];
    private long[] segmentFirst = new long[16];
    private int segmentCount;
    private int currentCycle;
    private long currentCycleEntries;

    private LogMeta meta;
    private LogId lastPurged;
    private long lastIndex;
    private long lastTerm;
    private LogId lastLogId;
    private int firstUnsyncedCycle = -1;
    private boolean newFileSinceSync;
    private boolean cutTornTail;
    private boolean closed;
    private boolean failed;

    /** Fault injection for tests: told when a truncation or purge reaches a named step; may throw to stop it there. */
    interface CrashPoints
    {
        void reached(String point);
    }

    CrashPoints crashPoints = point ->
    {
    };

    private ChronicleLogStorage(final ChronicleStorageContext ctx, final FileChannel lockChannel)
    {
        this.ctx = ctx;
        this.lockChannel = lockChannel;
        this.queueDirectory = ctx.directory().resolve(QUEUE_DIRECTORY);
        this.metaFile = ctx.directory().resolve(LogMeta.FILE_NAME);
        this.cycleFiles = new CycleFiles(queueDirectory, ROLL_CYCLE);
        this.durable = ctx.durability() != DurabilityPolicy.NONE;
        this.indexCount = ctx.indexCount();
        this.maxPayloadLength = ctx.maxPayloadLength();
        this.maxFrameBytes = ctx.maxFrameBytes();
        this.frame = new UnsafeBuffer(new byte[maxFrameBytes]);
        this.votes = FileVoteStore.open(ctx.directory().resolve(FileVoteStore.FILE_NAME));
    }

    /**
     * Opens the storage in {@code context.directory()}, initialising an empty or new directory,
     * and recovers it: finishes an interrupted truncation or purge, cuts a torn tail, and checks
     * every entry's CRC32C.
     *
     * @param context the settings; concluded here
     * @return the open storage
     * @throws IllegalArgumentException if a setting is invalid (the message names it)
     * @throws IllegalStateException    if the JVM lacks flags Chronicle needs (one line lists them)
     * @throws RaftStorageException     on corruption (naming the file and index), an inconsistent
     *                                  set of files, or an I/O error
     */
    public static ChronicleLogStorage open(final ChronicleStorageContext context)
    {
        JvmFlags.require("storage-chronicle");
        final ChronicleStorageContext ctx = context.conclude();
        final Path dir = ctx.directory();
        final FileChannel lockChannel = lock(dir);
        ChronicleLogStorage storage = null;
        try
        {
            initialiseOrCheck(dir);
            storage = new ChronicleLogStorage(ctx, lockChannel);
            storage.recover();
            return storage;
        }
        catch (final RuntimeException ex)
        {
            if (storage != null)
            {
                storage.closeQuietly();
            }
            else
            {
                closeChannel(lockChannel, dir);
            }
            throw ex;
        }
    }

    @Override
    public Vote readVote()
    {
        ensureOpen();
        return votes.vote();
    }

    /** Saves the vote durably (fsync), whatever the durability policy. */
    @Override
    public void saveVote(final Vote vote)
    {
        ensureOpen();
        votes.save(vote);
    }

    @Override
    public LogId lastPurgedLogId()
    {
        return lastPurged;
    }

    @Override
    public long lastLogIndex()
    {
        return lastIndex;
    }

    @Override
    public long lastPurgedIndex()
    {
        return lastPurged.index();
    }

    @Override
    public LogId lastLogId()
    {
        LogId id = lastLogId;
        if (id == null || id.index() != lastIndex || id.term() != lastTerm)
        {
            id = lastIndex == lastPurged.index() && lastTerm == lastPurged.term() ? lastPurged : new LogId(lastTerm, lastIndex);
            lastLogId = id;
        }
        return id;
    }

    @Override
    public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset, final int length)
    {
        ensureOpen();
        RaftLogStorage.requireNext(lastTerm, lastIndex, term, index);
        if (length < 0 || length > maxPayloadLength)
        {
            throw new IllegalArgumentException("payload length " + length + " at index " + index + " outside [0, " + maxPayloadLength + "]");
        }
        final int total = HEADER_LENGTH + length + CRC_LENGTH;
        if (currentCycleEntries >= ctx.segmentEntries())
        {
            writeFrame();
            currentCycle++;
            currentCycleEntries = 0;
            framesInCurrentCycle = 0;
            setClock(currentCycle);
        }
        else if (pendingCount > 0 && frameLength + total > maxFrameBytes)
        {
            writeFrame();
        }
        if (currentCycleEntries == 0)
        {
            addSegment(currentCycle, index);
            newFileSinceSync = true;
        }
        if (pendingCount == 0)
        {
            pendingFirst = index;
        }

        final int base = frameLength;
        growFrame(base + total);
        frame.putLong(base, index, ORDER);
        frame.putLong(base + 8, term, ORDER);
        frame.putInt(base + 16, type.code(), ORDER);
        frame.putInt(base + 20, length, ORDER);
        payload.getBytes(offset, frame, base + HEADER_LENGTH, length);
        crc.reset();
        crc.update(frame.byteArray(), base, HEADER_LENGTH + length);
        frame.putInt(base + HEADER_LENGTH + length, (int)crc.getValue(), ORDER);
        frameLength = base + total;
        pendingCount++;
        currentCycleEntries++;
        lastIndex = index;
        lastTerm = term;

        if (ctx.durability() == DurabilityPolicy.ALWAYS)
        {
            writeFrame();
            sync();
        }
        else if (pendingCount >= MAX_FRAME_ENTRIES || frameLength >= maxFrameBytes)
        {
            writeFrame();
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * Writes the entries appended since the last frame as one frame (one excerpt) into the page
     * cache, then {@code BATCH} fdatasyncs the cycle files written since the last flush;
     * {@code ALWAYS} already synced on every append; {@code NONE} stops at the page cache.
     * Truncations and purges are made durable (under {@code BATCH} and {@code ALWAYS}) before they
     * return.
     */
    @Override
    public long flush()
    {
        ensureOpen();
        writeFrame();
        if (ctx.durability() == DurabilityPolicy.BATCH)
        {
            sync();
        }
        return lastIndex;
    }

    @Override
    public void truncateSuffix(final long fromIndex)
    {
        ensureOpen();
        if (fromIndex <= lastPurged.index())
        {
            throw new IllegalArgumentException("truncate from " + fromIndex + " reaches into the purged prefix (last purged " + lastPurged + ")");
        }
        if (fromIndex > lastIndex)
        {
            return;
        }
        final long newLastTerm = fromIndex - 1 == lastPurged.index() ? lastPurged.term() : termAt(fromIndex - 1);
        if (pendingCount > 0 && fromIndex > pendingFirst)
        {
            // Only entries not yet written go: cut the pending frame.
            int at = 0;
            for (long i = pendingFirst; i < fromIndex; i++)
            {
                at += entryLength(frame, at);
            }
            final long removed = lastIndex - fromIndex + 1;
            frameLength = at;
            pendingCount -= (int)removed;
            currentCycleEntries -= removed;
            pendingCursorNext = -1;
        }
        else
        {
            final long lastWritten = pendingCount > 0 ? pendingFirst - 1 : lastIndex;
            discardPending();
            if (fromIndex <= lastWritten)
            {
                final int segment = segmentOf(fromIndex);
                rewriteSegment(segment, fromIndex - segmentFirst[segment]);
            }
        }
        lastIndex = fromIndex - 1;
        lastTerm = newLastTerm;
    }

    @Override
    public void purgePrefix(final LogId upTo)
    {
        ensureOpen();
        if (upTo.index() <= lastPurged.index())
        {
            return;
        }
        if (upTo.index() >= lastIndex)
        {
            discardPending();
        }
        int purgeable = 0;
        while (purgeable < segmentCount && segmentLast(purgeable) <= upTo.index())
        {
            purgeable++;
        }
        final boolean dropsCurrent = purgeable > 0 && segmentCycles[purgeable - 1] == currentCycle;
        final int newMaxCycle = dropsCurrent ? currentCycle + 1 : Math.max(meta.maxCycle(), currentCycle);
        meta = meta.withLastPurged(upTo, newMaxCycle);
        meta.write(metaFile, durable);
        crashPoints.reached("purge.committed");
        lastPurged = upTo;
        if (upTo.index() >= lastIndex)
        {
            lastIndex = upTo.index();
            lastTerm = upTo.term();
        }
        deleteLeadingSegments(purgeable, dropsCurrent);
    }

    @Override
    public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
    {
        ensureOpen();
        if (fromIndex <= lastPurged.index() || fromIndex > lastIndex + 1)
        {
            throw new IllegalArgumentException("read from " + fromIndex + " outside the log " + (lastPurged.index() + 1) + ".." + lastIndex);
        }
        final long end = Math.min(toIndexExclusive, lastIndex + 1);
        int count = 0;
        for (long i = fromIndex; i < end; i++)
        {
            locate(i);
            final UnsafeBuffer buffer = entryBuffer;
            final int at = entryOffset;
            count++;
            final boolean more = reader.onEntry(buffer.getLong(at + 8, ORDER), i, EntryType.fromCode(buffer.getInt(at + 16, ORDER)),
                buffer, at + HEADER_LENGTH, buffer.getInt(at + 20, ORDER));
            if (!more)
            {
                break;
            }
        }
        return count;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        try
        {
            if (queue != null && !failed)
            {
                writeFrame();
            }
        }
        finally
        {
            closed = true;
        }
        try
        {
            closeQueue();
            votes.close();
        }
        finally
        {
            closeChannel(lockChannel, ctx.directory());
        }
    }

    /** @return the settings this storage runs with */
    public ChronicleStorageContext context()
    {
        return ctx;
    }

    /** @return true if opening found a torn last entry and cut it */
    public boolean cutTornTailOnOpen()
    {
        return cutTornTail;
    }

    /** @return the cycle file that holds {@code index}, for diagnostics and tests */
    public Path fileOf(final long index)
    {
        ensureOpen();
        if (index <= lastPurged.index() || index > lastIndex)
        {
            throw new IllegalArgumentException("no entry at index " + index + " (log is " + lastPurged + ".." + lastLogId() + ")");
        }
        return cycleFiles.fileFor(segmentCycles[segmentOf(index)]);
    }

    // ---------------------------------------------------------------------------------------------
    // Opening and recovery

    private static FileChannel lock(final Path dir)
    {
        final Path lockFile = dir.resolve(LOCK_FILE);
        FileChannel channel = null;
        try
        {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            final FileLock lock = channel.tryLock();
            if (lock == null)
            {
                throw new RaftStorageException("storage directory " + dir + " is in use by another process (" + lockFile + " is locked)");
            }
            return channel;
        }
        catch (final OverlappingFileLockException ex)
        {
            closeChannel(channel, dir);
            throw new RaftStorageException("storage directory " + dir + " is already open in this process", ex);
        }
        catch (final IOException ex)
        {
            closeChannel(channel, dir);
            throw new RaftStorageException("cannot lock storage directory " + dir + ": " + ex, ex);
        }
        catch (final RuntimeException ex)
        {
            closeChannel(channel, dir);
            throw ex;
        }
    }

    private static void initialiseOrCheck(final Path dir)
    {
        final Path metaFile = dir.resolve(LogMeta.FILE_NAME);
        final Path voteFile = dir.resolve(FileVoteStore.FILE_NAME);
        final Path queueDir = dir.resolve(QUEUE_DIRECTORY);
        final boolean hasMeta = Files.exists(metaFile);
        final boolean hasVote = Files.exists(voteFile);
        final boolean hasCycles = !new CycleFiles(queueDir, ROLL_CYCLE).list().isEmpty();
        if (hasMeta)
        {
            if (!hasVote)
            {
                throw new RaftStorageException("inconsistent storage in " + dir + ": the log (" + metaFile +
                    ") is present but its vote file " + voteFile + " is missing");
            }
            if (!Files.isDirectory(queueDir))
            {
                throw new RaftStorageException("inconsistent storage in " + dir + ": the log metadata " + metaFile +
                    " is present but the log directory " + queueDir + " is missing");
            }
            return;
        }
        if (hasCycles)
        {
            throw new RaftStorageException("inconsistent storage in " + dir + ": " + queueDir +
                " holds log files but the log metadata " + metaFile + " is missing");
        }
        if (hasVote)
        {
            final Vote vote = FileVoteStore.read(voteFile);
            if (!vote.equals(Vote.INITIAL))
            {
                throw new RaftStorageException("inconsistent storage in " + dir + ": the vote file " + voteFile +
                    " holds " + vote + " but the log (" + metaFile + ") is missing");
            }
        }
        // A new directory, or an initialisation cut short before any entry or vote was stored.
        try
        {
            Files.createDirectories(queueDir);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot create " + queueDir + ": " + ex, ex);
        }
        if (!hasVote)
        {
            FileVoteStore.create(voteFile);
        }
        LogMeta.initial().write(metaFile, true);
    }

    private void recover()
    {
        meta = LogMeta.read(metaFile);
        lastPurged = meta.lastPurged();
        if (meta.rewriteCycle() >= 0)
        {
            // A rewrite that never committed: its copy is incomplete, the originals are intact.
            AtomicFiles.delete(cycleFiles.fileFor(meta.rewriteCycle()));
            meta = new LogMeta(meta.lastPurged(), meta.maxCycle(), -1, meta.deleteFrom(), meta.deleteTo());
            meta.write(metaFile, true);
        }
        TreeMap<Integer, Path> onDisk = cycleFiles.list();
        if (meta.deleteFrom() >= 0)
        {
            // A committed rewrite may have been interrupted before it deleted what it superseded.
            for (final Path file : onDisk.subMap(meta.deleteFrom(), true, meta.deleteTo(), true).values())
            {
                AtomicFiles.delete(file);
            }
            onDisk = cycleFiles.list();
        }
        if (dropUnfinishedFiles(onDisk))
        {
            onDisk = cycleFiles.list();
        }
        // Appends continue in a fresh cycle: a cycle file is only ever appended to by the queue
        // instance that created it. A kill can leave Chronicle's own bookkeeping of the last
        // cycle (write position, index) behind its content, and an appender resuming there has
        // been seen to reuse a sequence number.
        currentCycle = Math.max(meta.maxCycle(), onDisk.isEmpty() ? 0 : onDisk.lastKey()) + 1;
        setClock(currentCycle);
        openQueue();
        scan();
    }

    /**
     * Chronicle writes a file's header just after creating it; a kill in between leaves a file
     * without one, which a tailer would wait on for ever. Only the newest cycle file (or a new
     * queue's metadata file) can be caught like that, and it holds no entry yet: delete it.
     *
     * @return true if a cycle file was deleted
     */
    private boolean dropUnfinishedFiles(final TreeMap<Integer, Path> onDisk)
    {
        final Path chronicleMetadata = queueDirectory.resolve(CHRONICLE_METADATA);
        if (Files.exists(chronicleMetadata) && !hasHeader(chronicleMetadata))
        {
            AtomicFiles.delete(chronicleMetadata);
        }
        boolean deleted = false;
        for (final Map.Entry<Integer, Path> cycle : onDisk.entrySet())
        {
            if (!hasHeader(cycle.getValue()))
            {
                if (!cycle.getKey().equals(onDisk.lastKey()))
                {
                    throw new RaftStorageException("corrupt log: " + cycle.getValue() + " has no header, but newer cycle files follow it");
                }
                AtomicFiles.delete(cycle.getValue());
                deleted = true;
            }
        }
        return deleted;
    }

    private static boolean hasHeader(final Path file)
    {
        final ByteBuffer word = ByteBuffer.allocate(4).order(ORDER);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
        {
            while (word.hasRemaining() && channel.read(word, word.position()) > 0)
            {
                // read the header word
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read " + file + ": " + ex, ex);
        }
        if (word.hasRemaining())
        {
            return false;
        }
        final int header = word.getInt(0);
        return (header & NOT_COMPLETE) == 0 && (header & LENGTH_MASK) != 0;
    }

    private void scan()
    {
        lastIndex = lastPurged.index();
        lastTerm = lastPurged.term();
        long expected = -1;
        int cycle = Integer.MIN_VALUE;
        long previousSequence = -1;
        String badReason = null;
        long badIndex = -1;
        long badFrameFirst = -1;
        int badCycle = -1;
        tailer.toStart();
        while (true)
        {
            final long queueIndex;
            final int length;
            try (DocumentContext dc = tailer.readingDocument())
            {
                if (!dc.isPresent())
                {
                    break;
                }
                queueIndex = dc.index();
                if (badReason != null)
                {
                    throw corrupt(badIndex, cycleFiles.fileFor(badCycle), badReason + ", and valid entries follow it");
                }
                length = copyFrame(dc.wire().bytes());
            }
            catch (final RaftStorageException ex)
            {
                throw ex;
            }
            catch (final RuntimeException ex)
            {
                throw new RaftStorageException("unreadable log entry after index " + lastIndex + " in " + queueDirectory + ": " + ex, ex);
            }
            final int docCycle = ROLL_CYCLE.toCycle(queueIndex);
            final long sequence = ROLL_CYCLE.toSequenceNumber(queueIndex);
            final boolean newCycle = docCycle != cycle;
            final long want = expected < 0 ? lastPurged.index() + 1 : expected;
            String problem = null;
            if (length < 0)
            {
                problem = "frame length " + (-length) + " is impossible";
            }
            else if (newCycle && sequence != 0)
            {
                problem = "cycle starts at sequence " + sequence;
            }
            else if (!newCycle && sequence != previousSequence + 1)
            {
                problem = "sequence " + sequence + " follows " + previousSequence;
            }
            long first = want;
            if (problem == null)
            {
                first = readBuffer.getLong(0, ORDER);
                if (expected < 0 && first > lastPurged.index() + 1)
                {
                    throw corrupt(lastPurged.index() + 1, cycleFiles.fileFor(docCycle),
                        "the log starts at index " + first + " but the last purged index is " + lastPurged.index() + ": entries are missing");
                }
                problem = validateFrame(length, expected < 0 ? first : expected, first > lastPurged.index() ? lastTerm : 0);
            }
            if (problem != null)
            {
                badReason = problem;
                badIndex = problem.equals(lastFrameProblem) ? lastFrameBadIndex : want;
                badFrameFirst = want;
                badCycle = docCycle;
                continue;
            }
            if (newCycle)
            {
                addSegment(docCycle, first);
                cycle = docCycle;
            }
            addFrame(first);
            previousSequence = sequence;
            expected = first + lastFrameEntries;
            if (expected - 1 > lastPurged.index())
            {
                lastIndex = expected - 1;
                lastTerm = lastFrameLastTerm;
            }
        }

        if (badReason != null)
        {
            // A torn tail: the last frame did not reach the disk whole. Cut it: its entries were
            // written together by one flush, which a power loss interrupted.
            final boolean ownSegment = segmentCount > 0 && segmentCycles[segmentCount - 1] == badCycle;
            if (!ownSegment)
            {
                addSegment(badCycle, badFrameFirst);
            }
            rewriteSegment(segmentCount - 1, badFrameFirst - segmentFirst[segmentCount - 1]);
            cutTornTail = true;
        }

        int purgeable = 0;
        while (purgeable < segmentCount && segmentLast(purgeable) <= lastPurged.index())
        {
            purgeable++;
        }
        final boolean dropsCurrent = purgeable > 0 && segmentCycles[purgeable - 1] == currentCycle;
        if (dropsCurrent)
        {
            meta = meta.withLastPurged(lastPurged, currentCycle + 1);
            meta.write(metaFile, true);
        }
        deleteLeadingSegments(purgeable, dropsCurrent);
        currentCycleEntries = segmentCount > 0 && segmentCycles[segmentCount - 1] == currentCycle ?
            lastIndex - segmentFirst[segmentCount - 1] + 1 : 0;
        framesInCurrentCycle = 0;
        firstUnsyncedCycle = -1;
        newFileSinceSync = false;
    }

    // ---------------------------------------------------------------------------------------------
    // Segments and frames

    private void addSegment(final int cycle, final long firstIndex)
    {
        if (segmentCount == segmentCycles.length)
        {
            segmentCycles = Arrays.copyOf(segmentCycles, segmentCount * 2);
            segmentFirst = Arrays.copyOf(segmentFirst, segmentCount * 2);
            segmentFrame = Arrays.copyOf(segmentFrame, segmentCount * 2);
        }
        segmentCycles[segmentCount] = cycle;
        segmentFirst[segmentCount] = firstIndex;
        segmentFrame[segmentCount] = frameCount;
        segmentCount++;
    }

    private void addFrame(final long firstIndex)
    {
        if (frameCount == frameFirst.length)
        {
            frameFirst = Arrays.copyOf(frameFirst, frameCount * 2);
        }
        frameFirst[frameCount++] = firstIndex;
    }

    private long segmentLast(final int segment)
    {
        return segment + 1 < segmentCount ? segmentFirst[segment + 1] - 1 : lastIndex;
    }

    private int segmentFrameEnd(final int segment)
    {
        return segment + 1 < segmentCount ? segmentFrame[segment + 1] : frameCount;
    }

    /** @return the segment holding {@code index}, which must be in the log */
    private int segmentOf(final long index)
    {
        int low = 0;
        int high = segmentCount - 1;
        while (low < high)
        {
            final int mid = (low + high + 1) >>> 1;
            if (segmentFirst[mid] <= index)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low;
    }

    /** @return the written frame of {@code segment} holding {@code index} */
    private int frameOf(final int segment, final long index)
    {
        int low = segmentFrame[segment];
        int high = segmentFrameEnd(segment) - 1;
        while (low < high)
        {
            final int mid = (low + high + 1) >>> 1;
            if (frameFirst[mid] <= index)
            {
                low = mid;
            }
            else
            {
                high = mid - 1;
            }
        }
        return low;
    }

    /** Writes the pending entries as one frame: one excerpt, at the next sequence of the current cycle. */
    private void writeFrame()
    {
        if (pendingCount == 0)
        {
            return;
        }
        writeDocument(frame, frameLength, currentCycle, framesInCurrentCycle);
        addFrame(pendingFirst);
        framesInCurrentCycle++;
        pendingCount = 0;
        frameLength = 0;
        pendingCursorNext = -1;
        if (firstUnsyncedCycle < 0)
        {
            firstUnsyncedCycle = currentCycle;
        }
    }

    /** Forgets the entries not yet written, and the segment they opened if they were all it had. */
    private void discardPending()
    {
        if (pendingCount == 0)
        {
            return;
        }
        currentCycleEntries -= pendingCount;
        pendingCount = 0;
        frameLength = 0;
        pendingCursorNext = -1;
        if (currentCycleEntries == 0 && segmentCount > 0 && segmentCycles[segmentCount - 1] == currentCycle &&
            segmentFrame[segmentCount - 1] == frameCount)
        {
            segmentCount--;
        }
    }

    private void growFrame(final int length)
    {
        if (frame.capacity() < length)
        {
            final byte[] bigger = Arrays.copyOf(frame.byteArray(), Math.max(length, frame.capacity() * 2));
            frame.wrap(bigger);
        }
    }

    /**
     * Keeps the first {@code keep} entries of a segment and drops everything after them: copies
     * them into a fresh cycle, commits that in the metadata, then deletes the superseded cycles.
     */
    private void rewriteSegment(final int segment, final long keep)
    {
        final int from = segmentCycles[segment];
        final long first = segmentFirst[segment];
        final long cut = first + keep;
        final int target = Math.max(meta.maxCycle(), currentCycle) + 1;
        int written = 0;
        if (keep > 0)
        {
            meta = meta.withRewrite(target);
            meta.write(metaFile, durable);
            crashPoints.reached("rewrite.intent");
            setClock(target);
            for (int f = segmentFrame[segment]; f < segmentFrameEnd(segment) && frameFirst[f] < cut; f++)
            {
                final int length = loadFrame(segment, f);
                int keepLength = 0;
                for (long i = frameFirst[f]; i < cut && keepLength < length; i++)
                {
                    keepLength += entryLength(readBuffer, keepLength);
                }
                writeDocument(readBuffer, keepLength, target, written++);
            }
            if (durable)
            {
                forceCycle(target);
                AtomicFiles.syncDirectory(queueDirectory);
            }
            crashPoints.reached("rewrite.copied");
        }
        meta = meta.withCommittedRewrite(target, from, target - 1);
        meta.write(metaFile, durable);
        crashPoints.reached("rewrite.committed");
        closeQueue();
        for (final Path file : cycleFiles.list().subMap(from, true, target - 1, true).values())
        {
            AtomicFiles.delete(file);
        }
        if (durable)
        {
            AtomicFiles.syncDirectory(queueDirectory);
        }
        currentCycle = target + 1;
        setClock(currentCycle);
        openQueue();
        final int firstFrame = segmentFrame[segment];
        segmentCount = segment;
        frameCount = firstFrame;
        if (keep > 0)
        {
            addSegment(target, first);
            frameCount = firstFrame + written;
        }
        currentCycleEntries = 0;
        framesInCurrentCycle = 0;
        firstUnsyncedCycle = -1;
        newFileSinceSync = false;
    }

    /** Deletes the files of the first {@code count} segments, all of whose entries are purged. */
    private void deleteLeadingSegments(final int count, final boolean dropsCurrent)
    {
        if (count == 0)
        {
            return;
        }
        if (dropsCurrent)
        {
            closeQueue();
        }
        else
        {
            closeTailer();
        }
        for (int i = 0; i < count; i++)
        {
            AtomicFiles.delete(cycleFiles.fileFor(segmentCycles[i]));
        }
        final int droppedFrames = count < segmentCount ? segmentFrame[count] : frameCount;
        System.arraycopy(frameFirst, droppedFrames, frameFirst, 0, frameCount - droppedFrames);
        frameCount -= droppedFrames;
        System.arraycopy(segmentCycles, count, segmentCycles, 0, segmentCount - count);
        System.arraycopy(segmentFirst, count, segmentFirst, 0, segmentCount - count);
        System.arraycopy(segmentFrame, count, segmentFrame, 0, segmentCount - count);
        segmentCount -= count;
        for (int i = 0; i < segmentCount; i++)
        {
            segmentFrame[i] -= droppedFrames;
        }
        if (dropsCurrent)
        {
            currentCycle++;
            currentCycleEntries = 0;
            framesInCurrentCycle = 0;
            setClock(currentCycle);
            openQueue();
            firstUnsyncedCycle = -1;
        }
        else
        {
            queue.refreshDirectoryListing();
            tailer = queue.createTailer();
            tailer.singleThreadedCheckDisabled(true);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Reading and writing excerpts

    private void writeDocument(final UnsafeBuffer source, final int length, final int cycle, final long sequence)
    {
        try (DocumentContext dc = appender.writingDocument())
        {
            dc.wire().bytes().write(source.byteArray(), 0, length);
        }
        final long expectedQueueIndex = ROLL_CYCLE.toIndex(cycle, sequence);
        if (appender.lastIndexAppended() != expectedQueueIndex)
        {
            throw new RaftStorageException("log frame landed at queue index " + Long.toHexString(appender.lastIndexAppended()) +
                " instead of " + Long.toHexString(expectedQueueIndex) + " in " + cycleFiles.fileFor(cycle) +
                ": the queue directory was changed by someone else");
        }
    }

    /** Points {@link #entryBuffer} and {@link #entryOffset} at the entry {@code index}, which is in the log. */
    private void locate(final long index)
    {
        if (pendingCount > 0 && index >= pendingFirst)
        {
            int at = 0;
            long i = pendingFirst;
            if (pendingCursorNext >= pendingFirst && pendingCursorNext <= index)
            {
                at = pendingCursorOffset;
                i = pendingCursorNext;
            }
            for (; i < index; i++)
            {
                at += entryLength(frame, at);
            }
            entryBuffer = frame;
            entryOffset = at;
            pendingCursorNext = index + 1;
            pendingCursorOffset = at + entryLength(frame, at);
            return;
        }
        if (index != cursorNext || (cursorOffset >= cursorLength && !loadNextFrame(index)))
        {
            seekFrame(index);
        }
        entryBuffer = readBuffer;
        entryOffset = cursorOffset;
        cursorOffset += entryLength(readBuffer, cursorOffset);
        cursorNext = index + 1;
    }

    /** Reads the tailer's next frame, if it starts at {@code index}. */
    private boolean loadNextFrame(final long index)
    {
        final int length;
        try (DocumentContext dc = tailer.readingDocument())
        {
            if (!dc.isPresent())
            {
                return false;
            }
            length = copyFrame(dc.wire().bytes());
        }
        if (length < 0 || readBuffer.getLong(0, ORDER) != index)
        {
            return false;
        }
        checkFrame(length, index);
        cursorLength = length;
        cursorOffset = 0;
        return true;
    }

    /** Loads the frame holding {@code index} and sets the cursor on that entry. */
    private void seekFrame(final long index)
    {
        final int segment = segmentOf(index);
        final int f = frameOf(segment, index);
        final int length = loadFrame(segment, f);
        int at = 0;
        for (long i = frameFirst[f]; i < index; i++)
        {
            at += entryLength(readBuffer, at);
        }
        if (at >= length)
        {
            throw corrupt(index, cycleFiles.fileFor(segmentCycles[segment]), "the entry is missing from its frame");
        }
        cursorLength = length;
        cursorOffset = at;
        cursorNext = index;
    }

    /** Reads written frame {@code f} of {@code segment} into {@link #readBuffer}, checked; @return its length. */
    private int loadFrame(final int segment, final int f)
    {
        cursorNext = -1;
        final long queueIndex = ROLL_CYCLE.toIndex(segmentCycles[segment], f - segmentFrame[segment]);
        final Path file = cycleFiles.fileFor(segmentCycles[segment]);
        if (!tailer.moveToIndex(queueIndex))
        {
            throw corrupt(frameFirst[f], file, "queue index " + Long.toHexString(queueIndex) + " is missing");
        }
        final int length;
        try (DocumentContext dc = tailer.readingDocument())
        {
            if (!dc.isPresent())
            {
                throw corrupt(frameFirst[f], file, "queue index " + Long.toHexString(queueIndex) + " is missing");
            }
            length = copyFrame(dc.wire().bytes());
        }
        if (length < 0)
        {
            throw corrupt(frameFirst[f], file, "frame length " + (-length) + " is impossible");
        }
        if (readBuffer.getLong(0, ORDER) != frameFirst[f])
        {
            throw corrupt(frameFirst[f], file, "the frame holds index " + readBuffer.getLong(0, ORDER));
        }
        checkFrame(length, frameFirst[f]);
        return length;
    }

    private void checkFrame(final int length, final long first)
    {
        final String problem = validateFrame(length, first, 0);
        if (problem != null)
        {
            throw corrupt(lastFrameBadIndex, cycleFiles.fileFor(segmentCycles[segmentOf(first)]), problem);
        }
    }

    /** Copies the excerpt into {@link #readBuffer}; @return its length, or minus it if it cannot be a frame. */
    private int copyFrame(final Bytes<?> bytes)
    {
        final long remaining = bytes.readRemaining();
        if (remaining < HEADER_LENGTH + CRC_LENGTH || remaining > Math.max(maxFrameBytes, maxPayloadLength + HEADER_LENGTH + CRC_LENGTH))
        {
            return (int)-Math.min(remaining, Integer.MAX_VALUE);
        }
        final int total = (int)remaining;
        if (readBuffer.capacity() < total)
        {
            readBuffer.wrap(new byte[Math.max(total, readBuffer.capacity() * 2)]);
        }
        bytes.read(readBuffer.byteArray(), 0, total);
        return total;
    }

    // What the last validateFrame found: how many entries, the last term, and where it went wrong.
    private int lastFrameEntries;
    private long lastFrameLastTerm;
    private long lastFrameBadIndex;
    private String lastFrameProblem;

    /**
     * Checks every entry of the frame in {@link #readBuffer}: lengths, CRC32C, type, indexes
     * from {@code first} on, terms never below {@code minTerm} nor decreasing.
     *
     * @return null if sound, else what is wrong (and {@link #lastFrameBadIndex} says where)
     */
    private String validateFrame(final int length, final long first, final long minTerm)
    {
        int at = 0;
        long index = first;
        long term = minTerm;
        int entries = 0;
        String problem = null;
        while (at < length && problem == null)
        {
            if (length - at < HEADER_LENGTH + CRC_LENGTH)
            {
                problem = "a frame ends in the middle of an entry header";
                break;
            }
            final int payloadLength = readBuffer.getInt(at + 20, ORDER);
            if (payloadLength < 0 || payloadLength > length - at - HEADER_LENGTH - CRC_LENGTH)
            {
                problem = "payload length " + payloadLength + " does not fit its frame";
                break;
            }
            crc.reset();
            crc.update(readBuffer.byteArray(), at, HEADER_LENGTH + payloadLength);
            final int type = readBuffer.getInt(at + 16, ORDER);
            final long entryIndex = readBuffer.getLong(at, ORDER);
            final long entryTerm = readBuffer.getLong(at + 8, ORDER);
            if ((int)crc.getValue() != readBuffer.getInt(at + HEADER_LENGTH + payloadLength, ORDER))
            {
                problem = "CRC32C mismatch";
            }
            else if (type <= 0 || type > EntryType.values().length)
            {
                problem = "unknown entry type " + type;
            }
            else if (entryIndex != index)
            {
                problem = "holds index " + entryIndex;
            }
            else if (entryTerm < term)
            {
                problem = "term " + entryTerm + " after term " + term;
            }
            else
            {
                term = entryTerm;
                index++;
                entries++;
                at += HEADER_LENGTH + payloadLength + CRC_LENGTH;
            }
        }
        lastFrameEntries = entries;
        lastFrameLastTerm = term;
        lastFrameBadIndex = index;
        lastFrameProblem = problem;
        return problem;
    }

    private static int entryLength(final UnsafeBuffer buffer, final int at)
    {
        return HEADER_LENGTH + buffer.getInt(at + 20, ORDER) + CRC_LENGTH;
    }

    private long termAt(final long index)
    {
        locate(index);
        return entryBuffer.getLong(entryOffset + 8, ORDER);
    }

    private RaftStorageException corrupt(final long index, final Path file, final String problem)
    {
        return new RaftStorageException("corrupt log entry at index " + index + " in " + file + ": " + problem);
    }

    // ---------------------------------------------------------------------------------------------
    // Durability

    private void sync()
    {
        if (firstUnsyncedCycle < 0)
        {
            return;
        }
        if (firstUnsyncedCycle != currentCycle)
        {
            // A roll since the last sync: the earlier cycles still hold unsynced entries.
            for (int i = segmentCount - 1; i >= 0 && segmentCycles[i] >= firstUnsyncedCycle; i--)
            {
                if (segmentCycles[i] != currentCycle)
                {
                    forceCycle(segmentCycles[i]);
                }
            }
        }
        forceCycle(currentCycle);
        if (newFileSinceSync)
        {
            forceFile(queueDirectory.resolve(CHRONICLE_METADATA));
            AtomicFiles.syncDirectory(queueDirectory);
            newFileSinceSync = false;
        }
        firstUnsyncedCycle = -1;
    }

    private void forceCycle(final int cycle)
    {
        try
        {
            if (cycle == currentCycle)
            {
                if (syncChannelCycle != cycle)
                {
                    closeSyncChannel();
                    syncChannel = FileChannel.open(cycleFiles.fileFor(cycle), StandardOpenOption.WRITE);
                    syncChannelCycle = cycle;
                }
                syncChannel.force(false);
            }
            else
            {
                forceFile(cycleFiles.fileFor(cycle));
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot sync " + cycleFiles.fileFor(cycle) + ": " + ex, ex);
        }
    }

    private static void forceFile(final Path file)
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.force(false);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot sync " + file + ": " + ex, ex);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Queue lifecycle

    private void setClock(final int cycle)
    {
        clock.currentTimeMillis((long)cycle * ROLL_CYCLE.lengthInMillis());
    }

    private void openQueue()
    {
        queue = SingleChronicleQueueBuilder.binary(queueDirectory)
            .rollCycle(ROLL_CYCLE)
            .timeProvider(clock)
            .blockSize(ctx.blockSize())
            .indexCount(indexCount)
            .indexSpacing(ctx.indexSpacing())
            .build();
        appender = queue.createAppender();
        appender.singleThreadedCheckDisabled(true);
        tailer = queue.createTailer();
        tailer.singleThreadedCheckDisabled(true);
        cursorNext = -1;
    }

    private void closeTailer()
    {
        if (tailer != null)
        {
            tailer.close();
            tailer = null;
        }
        cursorNext = -1;
    }

    private void closeQueue()
    {
        closeTailer();
        closeSyncChannel();
        if (appender != null)
        {
            appender.close();
            appender = null;
        }
        if (queue != null)
        {
            queue.close();
            queue = null;
        }
    }

    private void closeSyncChannel()
    {
        if (syncChannel != null)
        {
            closeChannel(syncChannel, queueDirectory);
            syncChannel = null;
            syncChannelCycle = -1;
        }
    }

    private void closeQuietly()
    {
        failed = true;
        try
        {
            close();
        }
        catch (final RuntimeException ignore)
        {
            // already failing with a better exception
        }
    }

    private static void closeChannel(final FileChannel channel, final Path where)
    {
        if (channel == null)
        {
            return;
        }
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot close a file in " + where + ": " + ex, ex);
        }
    }

    private static void defaultProperty(final String name, final String value)
    {
        if (System.getProperty(name) == null)
        {
            System.setProperty(name, value);
        }
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("storage is closed: " + ctx.directory());
        }
    }

    @Override
    public String toString()
    {
        return "ChronicleLogStorage{" + ctx.directory() + " " + lastPurged + ".." + lastLogId() + " segments=" + segmentCount +
            " cycle=" + currentCycle + "}";
    }
}
