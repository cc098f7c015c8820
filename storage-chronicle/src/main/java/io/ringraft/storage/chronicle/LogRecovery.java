package io.ringraft.storage.chronicle;

import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.RaftStorageException;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Opening a storage directory: the lock, the check that its files belong together (or its
 * initialisation), the removal of cycle files a kill left without a header, and the scan that
 * checks every frame and rebuilds the {@link SegmentIndex}.
 */
final class LogRecovery
{
    // Chronicle's excerpt header word: a not-complete bit, a metadata bit, 30 bits of length.
    private static final int NOT_COMPLETE = 0x80000000;
    private static final int LENGTH_MASK = 0x3FFFFFFF;

    private final FrameCodec codec;
    private final SegmentIndex segments;
    private final CycleFiles cycleFiles;
    private final RollCycle rollCycle;
    private final Path queueDirectory;

    /** What the scan found: the last entry, and a torn last frame to cut ({@code tornFrameFirst < 0}: none). */
    long lastIndex;
    long lastTerm;
    long tornFrameFirst = -1;
    int tornCycle = -1;

    LogRecovery(final FrameCodec codec, final SegmentIndex segments, final CycleFiles cycleFiles, final RollCycle rollCycle,
        final Path queueDirectory)
    {
        this.codec = codec;
        this.segments = segments;
        this.cycleFiles = cycleFiles;
        this.rollCycle = rollCycle;
        this.queueDirectory = queueDirectory;
    }

    /** Locks {@code dir} for this process: @return the channel holding the lock */
    static FileChannel lock(final Path dir, final String lockFileName)
    {
        final Path lockFile = dir.resolve(lockFileName);
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

    /** Initialises a new directory, or checks that the log, its metadata and its vote are all present. */
    static void initialiseOrCheck(final Path dir, final Path queueDir, final RollCycle rollCycle)
    {
        final Path metaFile = dir.resolve(LogMeta.FILE_NAME);
        final Path voteFile = dir.resolve(FileVoteStore.FILE_NAME);
        final boolean hasMeta = Files.exists(metaFile);
        final boolean hasVote = Files.exists(voteFile);
        final boolean hasCycles = !new CycleFiles(queueDir, rollCycle).list().isEmpty();
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

    /**
     * Chronicle writes a file's header just after creating it; a kill in between leaves a file
     * without one, which a tailer would wait on for ever. Only the newest cycle file (or a new
     * queue's metadata file) can be caught like that, and it holds no entry yet: delete it.
     *
     * @return true if a cycle file was deleted
     */
    boolean dropUnfinishedFiles(final TreeMap<Integer, Path> onDisk)
    {
        final Path chronicleMetadata = queueDirectory.resolve(LogSync.CHRONICLE_METADATA);
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
        final ByteBuffer word = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
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

    /**
     * Reads every frame from the start, checks it, and records it in the segment index; sets
     * {@link #lastIndex}, {@link #lastTerm} and, if the last frame is bad, {@link #tornFrameFirst}
     * and {@link #tornCycle}.
     *
     * @throws RaftStorageException if a bad frame is followed by good ones, or entries are missing
     */
    void scan(final ExcerptTailer tailer, final LogId lastPurged)
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
                    throw FrameCodec.corrupt(badIndex, cycleFiles.fileFor(badCycle), badReason + ", and valid entries follow it");
                }
                length = codec.copy(dc.wire().bytes());
            }
            catch (final RaftStorageException ex)
            {
                throw ex;
            }
            catch (final RuntimeException ex)
            {
                throw new RaftStorageException("unreadable log entry after index " + lastIndex + " in " + queueDirectory + ": " + ex, ex);
            }
            final int docCycle = rollCycle.toCycle(queueIndex);
            final long sequence = rollCycle.toSequenceNumber(queueIndex);
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
                first = codec.firstIndex();
                if (expected < 0 && first > lastPurged.index() + 1)
                {
                    throw FrameCodec.corrupt(lastPurged.index() + 1, cycleFiles.fileFor(docCycle),
                        "the log starts at index " + first + " but the last purged index is " + lastPurged.index() + ": entries are missing");
                }
                problem = codec.validate(length, expected < 0 ? first : expected, first > lastPurged.index() ? lastTerm : 0);
            }
            if (problem != null)
            {
                badReason = problem;
                badIndex = problem.equals(codec.lastFrameProblem) ? codec.lastFrameBadIndex : want;
                badFrameFirst = want;
                badCycle = docCycle;
                continue;
            }
            if (newCycle)
            {
                segments.addSegment(docCycle, first);
                cycle = docCycle;
            }
            segments.addFrame(first);
            previousSequence = sequence;
            expected = first + codec.lastFrameEntries;
            if (expected - 1 > lastPurged.index())
            {
                lastIndex = expected - 1;
                lastTerm = codec.lastFrameLastTerm;
            }
        }
        tornFrameFirst = badReason == null ? -1 : badFrameFirst;
        tornCycle = badReason == null ? -1 : badCycle;
    }

    static void closeChannel(final FileChannel channel, final Path where)
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
}
