package io.ringraft.storage.chronicle;

import io.ringraft.EntryType;
import io.ringraft.JvmFlags;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftStorageException;
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
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.TreeMap;

/**
 * The Raft log in a Chronicle Queue, with its vote beside it; see the package documentation for
 * the design. One thread at a time uses an instance.
 * <p>
 * Its parts: {@code FrameCodec} (the entry layout and a frame's check), {@code SegmentIndex} (Raft
 * index to cycle and frame), {@code LogRecovery} (opening: lock, consistency, scan), {@code LogSync}
 * (the syncs) and {@code LogFlusher} (which runs them, under {@code BATCH} on a thread of its own);
 * this class writes frames, reads, truncates and purges.
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
    static final int HEADER_LENGTH = FrameCodec.HEADER_LENGTH;
    static final int CRC_LENGTH = FrameCodec.CRC_LENGTH;
    /** At most this many entries per frame, so a random read walks a bounded frame. */
    static final int MAX_FRAME_ENTRIES = 256;
    static final RollCycle ROLL_CYCLE = RollCycles.FAST_HOURLY;
    static final String QUEUE_DIRECTORY = "log";
    static final String LOCK_FILE = "lock";

    private final ChronicleStorageContext ctx;
    private final Path queueDirectory;
    private final Path metaFile;
    private final CycleFiles cycleFiles;
    private final FileVoteStore votes;
    private final CommittedIndexFile committed;
    private final FileChannel lockChannel;
    private final boolean durable;
    private final int indexCount;
    private final int maxPayloadLength;
    private final SetTimeProvider clock = new SetTimeProvider(0L);
    private final FrameCodec codec;
    private final UnsafeBuffer readBuffer;
    private final SegmentIndex segments = new SegmentIndex();
    // The syncs of a truncation's rewrite, on this thread; the flusher has its own.
    private final LogSync sync;
    private final FileStore fileStore;
    // Null under NONE.
    private LogFlusher flusher;

    // The frame being filled: entries appended since the last frame was written.
    private final UnsafeBuffer frame;
    private final int maxFrameBytes;
    private int frameLength;
    private int pendingCount;
    private long pendingFirst;
    private long pendingCursorNext = -1;
    private int pendingCursorOffset;

    private long framesInCurrentCycle;
    // What the flusher needs: the cycle of the last frame written, whether a frame was written
    // since the last post, and how many cycle files were started.
    private int lastWrittenCycle;
    // Bytes written since the free space was last looked at; the first frame looks.
    private long bytesSinceSpaceCheck = Long.MAX_VALUE / 2;
    private boolean unposted;
    private int filesStarted;

    // The read cursor over the frame in readBuffer, and where the last located entry is.
    private long cursorNext = -1;
    private int cursorOffset;
    private int cursorLength;
    private UnsafeBuffer entryBuffer;
    private int entryOffset;

    private SingleChronicleQueue queue;
    private ExcerptAppender appender;
    private ExcerptTailer tailer;

    private int currentCycle;
    private long currentCycleEntries;

    private LogMeta meta;
    private LogId lastPurged;
    private long lastIndex;
    private long lastTerm;
    private LogId lastLogId;
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
        this.codec = new FrameCodec(Math.max(maxFrameBytes, maxPayloadLength + HEADER_LENGTH + CRC_LENGTH));
        this.readBuffer = codec.readBuffer;
        this.sync = new LogSync(queueDirectory, cycleFiles);
        try
        {
            this.fileStore = Files.getFileStore(ctx.directory());
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot find the file system of " + ctx.directory() + ": " + ex, ex);
        }
        this.votes = FileVoteStore.open(ctx.directory().resolve(FileVoteStore.FILE_NAME));
        this.committed = CommittedIndexFile.open(ctx.directory());
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
        final FileChannel lockChannel = LogRecovery.lock(dir, LOCK_FILE);
        ChronicleLogStorage storage = null;
        try
        {
            LogRecovery.initialiseOrCheck(dir, dir.resolve(QUEUE_DIRECTORY), ROLL_CYCLE);
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
                LogRecovery.closeChannel(lockChannel, dir);
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

    /** Kept in a memory-mapped file without a sync: see {@link CommittedIndexFile}. */
    @Override
    public void saveCommitted(final long commitIndex)
    {
        ensureOpen();
        committed.save(commitIndex);
    }

    @Override
    public long readCommitted()
    {
        ensureOpen();
        return committed.read();
    }

    /** @return true: the log is kept in files */
    @Override
    public boolean isDurable()
    {
        return true;
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
            segments.addSegment(currentCycle, index);
            filesStarted++;
        }
        if (pendingCount == 0)
        {
            pendingFirst = index;
        }

        final int base = frameLength;
        growFrame(base + total);
        frameLength = base + codec.encode(frame, base, index, term, type, payload, offset, length);
        pendingCount++;
        currentCycleEntries++;
        lastIndex = index;
        lastTerm = term;

        if (ctx.durability() == DurabilityPolicy.ALWAYS)
        {
            writeFrame();
            postWritten();
        }
        else if (pendingCount >= MAX_FRAME_ENTRIES || frameLength >= maxFrameBytes)
        {
            writeFrame();
        }
    }

    /** {@inheritDoc} The flusher thread runs it after each sync (under {@code BATCH}), as it unparks the poster. */
    @Override
    public void durabilitySignal(final Runnable signal)
    {
        if (flusher != null)
        {
            flusher.signal(signal);
        }
    }

    /**
     * {@inheritDoc}
     * <p>
     * Writes the entries appended since the last frame as one frame (one excerpt) into the page
     * cache. {@code NONE} stops there and returns the last index. {@code BATCH} hands the sync of
     * the cycle files written since the last one to the flusher thread and returns the last index
     * whose sync has completed, without waiting: ask again to learn of later ones (the flusher
     * unparks the thread that called {@code flush} when a sync completes). With
     * {@code flusherThread(false)} it syncs before returning the last index; {@code ALWAYS} already
     * synced on every append. Truncations and purges are made durable (under {@code BATCH} and
     * {@code ALWAYS}) before they return.
     *
     * @throws RaftStorageException if a sync failed, now or on the flusher thread
     */
    @Override
    public long flush()
    {
        ensureOpen();
        writeFrame();
        if (flusher == null)
        {
            return lastIndex;
        }
        postWritten();
        return durableIndexNow();
    }

    /** {@inheritDoc} Under {@code NONE} (nothing to sync): the last index written. */
    @Override
    public long durableIndexNow()
    {
        return flusher == null ? lastIndex : Math.min(flusher.durableIndex(), lastIndex);
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
                at += FrameCodec.entryLength(frame, at);
            }
            final long removed = lastIndex - fromIndex + 1;
            frameLength = at;
            pendingCount -= (int)removed;
            currentCycleEntries -= removed;
            pendingCursorNext = -1;
        }
        else
        {
            if (fromIndex <= lastWrittenIndex())
            {
                holdFlusher();
                try
                {
                    discardPending();
                    final int segment = segments.segmentOf(fromIndex);
                    rewriteSegment(segment, fromIndex - segments.first(segment));
                }
                finally
                {
                    // Everything written before is synced, and so is the rewritten prefix (the
                    // truncation committed): the log is durable up to its new end.
                    releaseFlusher(fromIndex - 1);
                }
            }
            else
            {
                discardPending();
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
        // Moving the end of the log, or deleting cycle files, needs the flusher held.
        final boolean emptiesLog = upTo.index() >= lastIndex;
        if (emptiesLog)
        {
            holdFlusher();
            discardPending();
        }
        final int purgeable = segments.purgeable(upTo.index(), lastIndex);
        final boolean dropsCurrent = purgeable > 0 && segments.cycle(purgeable - 1) == currentCycle;
        final int newMaxCycle = dropsCurrent ? currentCycle + 1 : Math.max(meta.maxCycle(), currentCycle);
        final boolean hold = emptiesLog || purgeable > 0;
        if (hold && !emptiesLog)
        {
            holdFlusher();
        }
        try
        {
            meta = meta.withLastPurged(upTo, newMaxCycle);
            meta.write(metaFile, durable);
            crashPoints.reached("purge.committed");
            lastPurged = upTo;
            if (emptiesLog)
            {
                lastIndex = upTo.index();
                lastTerm = upTo.term();
            }
            deleteLeadingSegments(purgeable, dropsCurrent);
        }
        finally
        {
            if (hold)
            {
                releaseFlusher(lastWrittenIndex());
            }
        }
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
            final boolean more = reader.onEntry(FrameCodec.term(buffer, at), i, FrameCodec.type(buffer, at),
                buffer, at + HEADER_LENGTH, FrameCodec.payloadLength(buffer, at));
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
        closed = true;
        try
        {
            if (queue != null && !failed)
            {
                writeFrame(); // may fail (a full disk): the files are closed all the same
            }
        }
        finally
        {
            try
            {
                if (flusher != null)
                {
                    flusher.close();
                }
                closeQueue();
                committed.close();
                votes.close();
            }
            finally
            {
                LogRecovery.closeChannel(lockChannel, ctx.directory());
            }
        }
    }

    /** @return the settings this storage runs with */
    public ChronicleStorageContext context()
    {
        return ctx;
    }

    /**
     * Delays every sync of the log from now on, as a slow disk would: for fault-injection tests
     * (the initial value is {@link ChronicleStorageContext#syncDelayNanos(long)}). Under
     * {@code BATCH} the delay is on the flusher thread; with {@code flusherThread(false)} or
     * {@code ALWAYS} it is on the caller's; under {@code NONE} there is no sync to delay.
     *
     * @param nanos the extra delay before each sync, {@code >= 0}
     */
    public void syncDelayNanos(final long nanos)
    {
        if (nanos < 0)
        {
            throw new IllegalArgumentException("syncDelayNanos=" + nanos + " is negative");
        }
        if (flusher != null)
        {
            flusher.delayNanos(nanos);
        }
    }

    /** @return the flusher, or null under {@code NONE}: for tests */
    LogFlusher flusher()
    {
        return flusher;
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
        return cycleFiles.fileFor(segments.cycle(segments.segmentOf(index)));
    }

    // ---------------------------------------------------------------------------------------------
    // Opening and recovery

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
        final LogRecovery recovery = new LogRecovery(codec, segments, cycleFiles, ROLL_CYCLE, queueDirectory);
        if (recovery.dropUnfinishedFiles(onDisk))
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
        recovery.scan(tailer, lastPurged);
        lastIndex = recovery.lastIndex;
        lastTerm = recovery.lastTerm;
        if (recovery.tornFrameFirst >= 0)
        {
            // A torn tail: the last frame did not reach the disk whole. Cut it: its entries were
            // written together by one flush, which a power loss interrupted.
            if (!segments.lastIs(recovery.tornCycle))
            {
                segments.addSegment(recovery.tornCycle, recovery.tornFrameFirst);
            }
            final int last = segments.count() - 1;
            rewriteSegment(last, recovery.tornFrameFirst - segments.first(last));
            cutTornTail = true;
        }

        final int purgeable = segments.purgeable(lastPurged.index(), lastIndex);
        final boolean dropsCurrent = purgeable > 0 && segments.cycle(purgeable - 1) == currentCycle;
        if (dropsCurrent)
        {
            meta = meta.withLastPurged(lastPurged, currentCycle + 1);
            meta.write(metaFile, true);
        }
        deleteLeadingSegments(purgeable, dropsCurrent);
        currentCycleEntries = segments.lastIs(currentCycle) ? lastIndex - segments.first(segments.count() - 1) + 1 : 0;
        framesInCurrentCycle = 0;
        unposted = false;
        if (durable)
        {
            // Everything present at open counts as durable.
            flusher = new LogFlusher(new LogSync(queueDirectory, cycleFiles), ctx.directory(),
                ctx.durability() == DurabilityPolicy.BATCH && ctx.flusherThread(), lastIndex, currentCycle, filesStarted,
                ctx.syncDelayNanos());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Durability

    /** @return the last index written into a frame */
    private long lastWrittenIndex()
    {
        return pendingCount > 0 ? pendingFirst - 1 : lastIndex;
    }

    /**
     * Stops the log, with a clear error, before the disk is so full that a write into a mapped
     * page would fault: looks at the usable space each time a quarter of {@code minFreeBytes}
     * has been written (a statfs; it allocates a little, so not on every frame).
     */
    private void checkFreeSpace(final int length)
    {
        final long minFree = ctx.minFreeBytes();
        if (minFree == 0)
        {
            return;
        }
        bytesSinceSpaceCheck += length;
        if (bytesSinceSpaceCheck < minFree / 4)
        {
            return;
        }
        bytesSinceSpaceCheck = 0;
        final long usable;
        try
        {
            usable = fileStore.getUsableSpace();
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read the free space of " + queueDirectory + ": " + ex, ex);
        }
        if (usable < minFree)
        {
            bytesSinceSpaceCheck = minFree; // look again at the next frame
            failed = true; // close() writes no more
            throw new RaftStorageException("disk full: " + usable + " bytes usable on the file system of " + queueDirectory +
                ", less than minFreeBytes=" + minFree + "; the log stops before a write could fail (free space, then restart)");
        }
    }

    /** Tells the flusher of the frames written since the last post. */
    private void postWritten()
    {
        if (unposted)
        {
            unposted = false;
            flusher.post(lastWrittenCycle, filesStarted, lastWrittenIndex());
        }
    }

    /** Before cycle files are deleted or renumbered: waits for the flusher, and syncs everything written. */
    private void holdFlusher()
    {
        if (flusher != null)
        {
            postWritten();
            flusher.hold();
        }
    }

    /** After: everything written up to {@code durableIndex} is durable, and frames go on in the current cycle. */
    private void releaseFlusher(final long durableIndex)
    {
        if (flusher != null)
        {
            flusher.release(currentCycle, durableIndex);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Frames, truncation and purge

    /** Writes the pending entries as one frame: one excerpt, at the next sequence of the current cycle. */
    private void writeFrame()
    {
        if (pendingCount == 0)
        {
            return;
        }
        checkFreeSpace(frameLength);
        writeDocument(frame, frameLength, currentCycle, framesInCurrentCycle);
        segments.addFrame(pendingFirst);
        framesInCurrentCycle++;
        pendingCount = 0;
        frameLength = 0;
        pendingCursorNext = -1;
        lastWrittenCycle = currentCycle;
        unposted = true;
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
        if (currentCycleEntries == 0)
        {
            segments.dropEmptyLast(currentCycle);
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
        final int from = segments.cycle(segment);
        final long first = segments.first(segment);
        final long cut = first + keep;
        final int target = Math.max(meta.maxCycle(), currentCycle) + 1;
        int written = 0;
        if (keep > 0)
        {
            meta = meta.withRewrite(target);
            meta.write(metaFile, durable);
            crashPoints.reached("rewrite.intent");
            setClock(target);
            for (int f = segments.firstFrame(segment); f < segments.frameEnd(segment) && segments.frameFirst(f) < cut; f++)
            {
                final int length = loadFrame(segment, f);
                int keepLength = 0;
                for (long i = segments.frameFirst(f); i < cut && keepLength < length; i++)
                {
                    keepLength += FrameCodec.entryLength(readBuffer, keepLength);
                }
                writeDocument(readBuffer, keepLength, target, written++);
            }
            if (durable)
            {
                sync.forceCycle(target, currentCycle);
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
        segments.truncate(segment);
        if (keep > 0)
        {
            segments.addSegment(target, first);
            segments.keepFrames(written);
        }
        currentCycleEntries = 0;
        framesInCurrentCycle = 0;
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
            AtomicFiles.delete(cycleFiles.fileFor(segments.cycle(i)));
        }
        segments.dropLeading(count);
        if (dropsCurrent)
        {
            currentCycle++;
            currentCycleEntries = 0;
            framesInCurrentCycle = 0;
            setClock(currentCycle);
            openQueue();
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
        final DocumentContext dc = appender.writingDocument();
        try
        {
            dc.wire().bytes().write(source.byteArray(), 0, length);
        }
        catch (final InternalError ex)
        {
            // The JVM's report of a SIGBUS on a mapped page: the file system could not back it.
            dc.rollbackOnClose();
            throw new RaftStorageException("cannot write the log into " + cycleFiles.fileFor(cycle) +
                ": its memory-mapped page could not be written (is the disk full?): " + ex, ex);
        }
        finally
        {
            dc.close();
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
                at += FrameCodec.entryLength(frame, at);
            }
            entryBuffer = frame;
            entryOffset = at;
            pendingCursorNext = index + 1;
            pendingCursorOffset = at + FrameCodec.entryLength(frame, at);
            return;
        }
        if (index != cursorNext || (cursorOffset >= cursorLength && !loadNextFrame(index)))
        {
            seekFrame(index);
        }
        entryBuffer = readBuffer;
        entryOffset = cursorOffset;
        cursorOffset += FrameCodec.entryLength(readBuffer, cursorOffset);
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
            length = codec.copy(dc.wire().bytes());
        }
        if (length < 0 || codec.firstIndex() != index)
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
        final int segment = segments.segmentOf(index);
        final int f = segments.frameOf(segment, index);
        final int length = loadFrame(segment, f);
        int at = 0;
        for (long i = segments.frameFirst(f); i < index; i++)
        {
            at += FrameCodec.entryLength(readBuffer, at);
        }
        if (at >= length)
        {
            throw FrameCodec.corrupt(index, cycleFiles.fileFor(segments.cycle(segment)), "the entry is missing from its frame");
        }
        cursorLength = length;
        cursorOffset = at;
        cursorNext = index;
    }

    /** Reads written frame {@code f} of {@code segment} into {@link #readBuffer}, checked; @return its length. */
    private int loadFrame(final int segment, final int f)
    {
        cursorNext = -1;
        final long frameFirst = segments.frameFirst(f);
        final long queueIndex = ROLL_CYCLE.toIndex(segments.cycle(segment), f - segments.firstFrame(segment));
        final Path file = cycleFiles.fileFor(segments.cycle(segment));
        if (!tailer.moveToIndex(queueIndex))
        {
            throw FrameCodec.corrupt(frameFirst, file, "queue index " + Long.toHexString(queueIndex) + " is missing");
        }
        final int length;
        try (DocumentContext dc = tailer.readingDocument())
        {
            if (!dc.isPresent())
            {
                throw FrameCodec.corrupt(frameFirst, file, "queue index " + Long.toHexString(queueIndex) + " is missing");
            }
            length = codec.copy(dc.wire().bytes());
        }
        if (length < 0)
        {
            throw FrameCodec.corrupt(frameFirst, file, "frame length " + (-length) + " is impossible");
        }
        if (codec.firstIndex() != frameFirst)
        {
            throw FrameCodec.corrupt(frameFirst, file, "the frame holds index " + codec.firstIndex());
        }
        checkFrame(length, frameFirst);
        return length;
    }

    private void checkFrame(final int length, final long first)
    {
        final String problem = codec.validate(length, first, 0);
        if (problem != null)
        {
            throw FrameCodec.corrupt(codec.lastFrameBadIndex, cycleFiles.fileFor(segments.cycle(segments.segmentOf(first))), problem);
        }
    }

    private long termAt(final long index)
    {
        locate(index);
        return FrameCodec.term(entryBuffer, entryOffset);
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
        sync.close();
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
        return "ChronicleLogStorage{" + ctx.directory() + " " + lastPurged + ".." + lastLogId() + " segments=" + segments.count() +
            " cycle=" + currentCycle + "}";
    }
}
