package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What the log has written but not yet synced, and the syncs: an fdatasync of each cycle file
 * written since the last sync, plus Chronicle's {@code metadata.cq4t} and the directory when a
 * cycle file was created. Keeps the current cycle's file open between syncs.
 */
final class LogSync
{
    static final String CHRONICLE_METADATA = "metadata.cq4t";

    private final Path queueDirectory;
    private final CycleFiles cycleFiles;
    private FileChannel channel;
    private int channelCycle = -1;
    private int firstUnsyncedCycle = -1;
    private boolean newFileSinceSync;

    LogSync(final Path queueDirectory, final CycleFiles cycleFiles)
    {
        this.queueDirectory = queueDirectory;
        this.cycleFiles = cycleFiles;
    }

    /** A frame was written into {@code cycle}. */
    void written(final int cycle)
    {
        if (firstUnsyncedCycle < 0)
        {
            firstUnsyncedCycle = cycle;
        }
    }

    /** A cycle file will be created (the directory and Chronicle's metadata change). */
    void newFile()
    {
        newFileSinceSync = true;
    }

    /** Everything written so far is synced or gone (a rewrite synced or deleted it). */
    void reset()
    {
        firstUnsyncedCycle = -1;
        newFileSinceSync = false;
    }

    /** Syncs the cycle files written since the last sync, the newest being {@code currentCycle}. */
    void sync(final SegmentIndex segments, final int currentCycle)
    {
        if (firstUnsyncedCycle < 0)
        {
            return;
        }
        if (firstUnsyncedCycle != currentCycle)
        {
            // A roll since the last sync: the earlier cycles still hold unsynced entries.
            for (int i = segments.count() - 1; i >= 0 && segments.cycle(i) >= firstUnsyncedCycle; i--)
            {
                if (segments.cycle(i) != currentCycle)
                {
                    forceCycle(segments.cycle(i), currentCycle);
                }
            }
        }
        forceCycle(currentCycle, currentCycle);
        if (newFileSinceSync)
        {
            forceFile(queueDirectory.resolve(CHRONICLE_METADATA));
            AtomicFiles.syncDirectory(queueDirectory);
            newFileSinceSync = false;
        }
        firstUnsyncedCycle = -1;
    }

    /** Syncs {@code cycle}'s file, keeping it open if it is the {@code currentCycle}. */
    void forceCycle(final int cycle, final int currentCycle)
    {
        try
        {
            if (cycle == currentCycle)
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
