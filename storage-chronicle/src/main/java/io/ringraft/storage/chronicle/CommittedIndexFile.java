package io.ringraft.storage.chronicle;

import io.ringraft.storage.RaftStorageException;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The commit index the node last saw, in a small memory-mapped file: the value and its complement,
 * written with two stores and no sync, so saving it on every duty cycle costs nothing. It survives
 * the process being killed (the page cache keeps it); after a power loss it may be older (the
 * kernel had not written the page back), and a value whose two words do not match reads as 0. An
 * older value is harmless: it is only a lower bound of what was committed (local reads wait for it).
 */
final class CommittedIndexFile implements AutoCloseable
{
    static final String FILE_NAME = "committed";

    private static final int LENGTH = 16;

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer buffer;

    private CommittedIndexFile(final MappedByteBuffer mapped)
    {
        this.mapped = mapped;
        this.buffer = new UnsafeBuffer(mapped);
    }

    /**
     * Opens the file in {@code directory}, creating it (holding 0) if absent.
     *
     * @throws RaftStorageException if it cannot be opened or mapped
     */
    static CommittedIndexFile open(final Path directory)
    {
        final Path file = directory.resolve(FILE_NAME);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            // A new (or short) file grows with zero bytes: the value 0 with a complement that does not match, read as 0.
            return new CommittedIndexFile(channel.map(FileChannel.MapMode.READ_WRITE, 0, LENGTH));
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot open the commit index file " + file + ": " + ex, ex);
        }
    }

    /** @return the saved commit index, or 0 if none was saved or the file does not hold a whole one */
    long read()
    {
        final long value = buffer.getLongVolatile(0);
        return value > 0 && buffer.getLongVolatile(8) == ~value ? value : 0;
    }

    /** Saves {@code commitIndex} (to the page cache: no sync). */
    void save(final long commitIndex)
    {
        // The complement first: a reader (the next start, after a kill between the two stores) then
        // sees a mismatch, never a new value vouched for by an old check word.
        buffer.putLongOrdered(8, ~commitIndex);
        buffer.putLongOrdered(0, commitIndex);
    }

    @Override
    public void close()
    {
        IoUtil.unmap(mapped);
    }
}
