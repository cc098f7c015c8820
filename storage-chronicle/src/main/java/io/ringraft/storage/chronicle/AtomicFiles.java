package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/** Whole-file replacement that a crash can never leave half done: write a temporary file, sync it, rename it over the target, sync the directory. */
final class AtomicFiles
{
    static final String TEMP_SUFFIX = ".tmp";

    private AtomicFiles()
    {
    }

    /**
     * Replaces {@code target} with {@code content} atomically.
     *
     * @param target  the file to replace
     * @param content its new bytes
     * @param durable true to fsync the file and its directory (survives power loss), false for
     *                page cache only (survives a process crash, since rename is atomic)
     */
    static void replace(final Path target, final byte[] content, final boolean durable)
    {
        final Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
        try
        {
            try (FileChannel channel = FileChannel.open(temp,
                StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))
            {
                final ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining())
                {
                    channel.write(buffer);
                }
                if (durable)
                {
                    channel.force(true);
                }
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            if (durable)
            {
                syncDirectory(target.getParent());
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot write " + target + ": " + ex, ex);
        }
    }

    /** Makes the directory's entries (created, renamed, deleted files) durable. */
    static void syncDirectory(final Path directory)
    {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ))
        {
            channel.force(true);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot sync directory " + directory + ": " + ex, ex);
        }
    }

    /** Deletes a file if present. */
    static void delete(final Path file)
    {
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot delete " + file + ": " + ex, ex);
        }
    }
}
