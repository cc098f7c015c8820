package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The syncs of the log's files: {@code FileChannel.force(false)} (fdatasync) of cycle files, which
 * on Linux writes a file's dirty mapped pages, data and Chronicle's index alike, and of
 * Chronicle's {@code metadata.cq4t} and the directory when a cycle file was created. Keeps the
 * newest cycle's file open between syncs. One thread at a time uses an instance.
 */
final class LogSync
{
    static final String CHRONICLE_METADATA = "metadata.cq4t";

    private final Path queueDirectory;
    private final CycleFiles cycleFiles;
    private FileChannel channel;
    private int channelCycle = -1;

    LogSync(final Path queueDirectory, final CycleFiles cycleFiles)
    {
        this.queueDirectory = queueDirectory;
        this.cycleFiles = cycleFiles;
    }

    /** Syncs the files of cycles {@code from..to}, which all exist, keeping {@code to}'s open. */
    void forceCycles(final int from, final int to)
    {
        for (int cycle = from; cycle <= to; cycle++)
        {
            forceCycle(cycle, to);
        }
    }

    /** Syncs {@code cycle}'s file, keeping it open if it is {@code keepOpen}. */
    void forceCycle(final int cycle, final int keepOpen)
    {
        try
        {
            if (cycle == keepOpen)
            {
                if (channelCycle != cycle)
                {
                    close();
                    channel = FileChannel.open(cycleFiles.fileFor(cycle), StandardOpenOption.WRITE);
                    channelCycle = cycle;
                }
                channel.force(false);
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

    /** Syncs Chronicle's metadata file and the directory: a cycle file was created. */
    void forceMetadataAndDirectory()
    {
        forceFile(queueDirectory.resolve(CHRONICLE_METADATA));
        AtomicFiles.syncDirectory(queueDirectory);
    }

    static void forceFile(final Path file)
    {
        try (FileChannel fileChannel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            fileChannel.force(false);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot sync " + file + ": " + ex, ex);
        }
    }

    /** Closes the file kept open; the next sync reopens what it needs. */
    void close()
    {
        if (channel != null)
        {
            final FileChannel open = channel;
            channel = null;
            channelCycle = -1;
            try
            {
                open.close();
            }
            catch (final IOException ex)
            {
                throw new RaftStorageException("cannot close a file in " + queueDirectory + ": " + ex, ex);
            }
        }
    }
}
