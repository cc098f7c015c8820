package io.ringraft.storage.chronicle;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.RaftStorageException;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * Snapshots as files in a directory, one file each: {@code <snapshotId>.snap} holds the data
 * followed by a trailer with the meta (last included log id, membership via
 * {@link Membership#encode()}, id, size, the data's CRC32C, a commit sequence) and the trailer's
 * own CRC32C.
 * <p>
 * A snapshot is written as {@code <snapshotId>.snap.tmp}; commit appends the trailer, fsyncs,
 * renames it atomically to its final name and fsyncs the directory, then deletes the older
 * snapshots. Opening the store deletes leftover temporary files and any snapshot older than the
 * newest committed one, so a crash at any moment leaves either the old or the new snapshot.
 */
public final class FileSnapshotStore implements RaftSnapshotStore
{
    static final String SUFFIX = ".snap";
    static final String TEMP_SUFFIX = ".snap.tmp";

    private static final int MAGIC = 0x52534e50; // "RSNP"
    private static final int FOOTER_LENGTH = 12;
    private static final int CHUNK = 64 * 1024;

    private final Path directory;
    private SnapshotMeta latest;
    private long latestSequence;
    private boolean closed;

    private FileSnapshotStore(final Path directory)
    {
        this.directory = directory;
    }

    /**
     * Opens (creating if needed) the snapshot directory and finds the newest committed snapshot.
     *
     * @param directory where the snapshots live
     * @return the store
     * @throws IllegalArgumentException if {@code directory} is not a usable directory
     * @throws RaftStorageException     if a committed snapshot's trailer is corrupt
     */
    public static FileSnapshotStore open(final Path directory)
    {
        if (directory == null)
        {
            throw new IllegalArgumentException("snapshot directory is not set");
        }
        if (Files.exists(directory) && !Files.isDirectory(directory))
        {
            throw new IllegalArgumentException("snapshot directory=" + directory + " is not a directory");
        }
        try
        {
            Files.createDirectories(directory);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("snapshot directory=" + directory + " cannot be created: " + ex, ex);
        }
        final FileSnapshotStore store = new FileSnapshotStore(directory);
        store.recover();
        return store;
    }

    /** @return true: snapshots are kept in files */
    @Override
    public boolean isDurable()
    {
        return true;
    }

    @Override
    public synchronized SnapshotMeta latest()
    {
        ensureOpen();
        return latest;
    }

    @Override
    public SnapshotWriter create(final SnapshotMeta lastIncluded)
    {
        ensureOpen();
        if (!SnapshotMeta.isValidId(lastIncluded.snapshotId()))
        {
            throw new IllegalArgumentException("snapshotId=" + lastIncluded.snapshotId() + " must be 1 to " + SnapshotMeta.MAX_ID_LENGTH +
                " characters from A-Z a-z 0-9 . _ -");
        }
        return new Writer(lastIncluded);
    }

    @Override
    public SnapshotReader open(final SnapshotMeta meta)
    {
        ensureOpen();
        final Path file = directory.resolve(meta.snapshotId() + SUFFIX);
        final FileChannel channel;
        try
        {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("snapshot " + meta.snapshotId() + " is gone: cannot open " + file + ": " + ex, ex);
        }
        try
        {
            final Trailer trailer = readTrailer(file, channel);
            if (!trailer.meta.equals(meta))
            {
                throw new RaftStorageException("snapshot file " + file + " holds " + trailer.meta + ", not " + meta);
            }
            final int crc = crcOf(channel, trailer.meta.sizeBytes(), file);
            if (crc != trailer.meta.crc32c())
            {
                throw new RaftStorageException("snapshot file " + file + " fails its CRC32C: data is corrupt");
            }
            return new Reader(file, channel, trailer.meta);
        }
        catch (final RuntimeException ex)
        {
            closeChannel(channel, file);
            throw ex;
        }
    }

    @Override
    public synchronized void close()
    {
        closed = true;
    }

    /** @return the directory holding the snapshots */
    public Path directory()
    {
        return directory;
    }

    private void recover()
    {
        Path newest = null;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory))
        {
            for (final Path file : stream)
            {
                final String name = file.getFileName().toString();
                if (name.endsWith(TEMP_SUFFIX))
                {
                    AtomicFiles.delete(file);
                }
                else if (name.endsWith(SUFFIX))
                {
                    final Trailer trailer;
                    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ))
                    {
                        trailer = readTrailer(file, channel);
                    }
                    if (latest == null || trailer.sequence > latestSequence)
                    {
                        if (newest != null)
                        {
                            AtomicFiles.delete(newest);
                        }
                        latest = trailer.meta;
                        latestSequence = trailer.sequence;
                        newest = file;
                    }
                    else
                    {
                        AtomicFiles.delete(file);
                    }
                }
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read snapshot directory " + directory + ": " + ex, ex);
        }
    }

    private synchronized SnapshotMeta install(final Path temp, final SnapshotMeta meta)
    {
        ensureOpen();
        if (latest != null && meta.lastIncluded().index() < latest.lastIncluded().index())
        {
            // Finished after a newer one (a build overtaken by a snapshot received from the leader): the latest never goes back.
            AtomicFiles.delete(temp);
            return meta;
        }
        final Path target = directory.resolve(meta.snapshotId() + SUFFIX);
        try
        {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot rename " + temp + " to " + target + ": " + ex, ex);
        }
        AtomicFiles.syncDirectory(directory);
        if (latest != null && !latest.snapshotId().equals(meta.snapshotId()))
        {
            AtomicFiles.delete(directory.resolve(latest.snapshotId() + SUFFIX));
        }
        latest = meta;
        return meta;
    }

    private synchronized long nextSequence()
    {
        return ++latestSequence;
    }

    private void ensureOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("snapshot store is closed: " + directory);
        }
    }

    private record Trailer(SnapshotMeta meta, long sequence)
    {
    }

    private static Trailer readTrailer(final Path file, final FileChannel channel)
    {
        try
        {
            final long fileSize = channel.size();
            if (fileSize < FOOTER_LENGTH)
            {
                throw new RaftStorageException("snapshot file " + file + " is too short (" + fileSize + " bytes) to hold its meta");
            }
            final ByteBuffer footer = ByteBuffer.allocate(FOOTER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, footer, fileSize - FOOTER_LENGTH);
            final int bodyLength = footer.getInt(0);
            if (footer.getInt(8) != MAGIC || bodyLength < 0 || bodyLength > fileSize - FOOTER_LENGTH)
            {
                throw new RaftStorageException("snapshot file " + file + " has no valid trailer");
            }
            final ByteBuffer body = ByteBuffer.allocate(bodyLength).order(ByteOrder.LITTLE_ENDIAN);
            final long bodyStart = fileSize - FOOTER_LENGTH - bodyLength;
            readFully(channel, body, bodyStart);
            final CRC32C crc = new CRC32C();
            crc.update(body.array());
            if ((int)crc.getValue() != footer.getInt(4))
            {
                throw new RaftStorageException("snapshot file " + file + " has a corrupt trailer (CRC32C mismatch)");
            }
            body.clear();
            final long sequence = body.getLong();
            final LogId lastIncluded = new LogId(body.getLong(), body.getLong());
            final long size = body.getLong();
            final int dataCrc = body.getInt();
            final byte[] id = new byte[body.getInt()];
            body.get(id);
            final byte[] membership = new byte[body.getInt()];
            body.get(membership);
            if (size != bodyStart)
            {
                throw new RaftStorageException("snapshot file " + file + " says " + size + " data bytes but holds " + bodyStart);
            }
            final SnapshotMeta meta = new SnapshotMeta(lastIncluded, Membership.decode(membership),
                new String(id, StandardCharsets.UTF_8), size, dataCrc);
            return new Trailer(meta, sequence);
        }
        catch (final IOException | RuntimeException ex)
        {
            if (ex instanceof RaftStorageException)
            {
                throw (RaftStorageException)ex;
            }
            throw new RaftStorageException("cannot read the meta of snapshot file " + file + ": " + ex, ex);
        }
    }

    private static byte[] encodeTrailer(final SnapshotMeta meta, final long sequence)
    {
        final byte[] id = meta.snapshotId().getBytes(StandardCharsets.UTF_8);
        final byte[] membership = meta.membership().encode();
        final int bodyLength = 8 + 16 + 8 + 4 + 4 + id.length + 4 + membership.length;
        final ByteBuffer buffer = ByteBuffer.allocate(bodyLength + FOOTER_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(sequence).putLong(meta.lastIncluded().term()).putLong(meta.lastIncluded().index())
            .putLong(meta.sizeBytes()).putInt(meta.crc32c())
            .putInt(id.length).put(id).putInt(membership.length).put(membership);
        final CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, bodyLength);
        buffer.putInt(bodyLength).putInt((int)crc.getValue()).putInt(MAGIC);
        return buffer.array();
    }

    private static void readFully(final FileChannel channel, final ByteBuffer buffer, final long position) throws IOException
    {
        long at = position;
        while (buffer.hasRemaining())
        {
            final int n = channel.read(buffer, at);
            if (n < 0)
            {
                throw new IOException("unexpected end of file at " + at);
            }
            at += n;
        }
    }

    private static int crcOf(final FileChannel channel, final long size, final Path file)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
        final CRC32C crc = new CRC32C();
        try
        {
            long position = 0;
            while (position < size)
            {
                buffer.clear().limit((int)Math.min(CHUNK, size - position));
                readFully(channel, buffer, position);
                crc.update(buffer.array(), 0, buffer.limit());
                position += buffer.limit();
            }
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read snapshot file " + file + ": " + ex, ex);
        }
        return (int)crc.getValue();
    }

    private static void closeChannel(final FileChannel channel, final Path file)
    {
        try
        {
            channel.close();
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot close " + file + ": " + ex, ex);
        }
    }

    private final class Writer implements SnapshotWriter
    {
        private final SnapshotMeta meta;
        private final Path temp;
        private final FileChannel channel;
        private final ByteBuffer chunk = ByteBuffer.allocate(CHUNK);
        private final CRC32C crc = new CRC32C();
        private long position;
        private boolean done;

        Writer(final SnapshotMeta meta)
        {
            this.meta = meta;
            this.temp = directory.resolve(meta.snapshotId() + TEMP_SUFFIX);
            try
            {
                channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
            }
            catch (final IOException ex)
            {
                throw new RaftStorageException("cannot create snapshot file " + temp + ": " + ex, ex);
            }
        }

        @Override
        public void write(final DirectBuffer buffer, final int offset, final int length)
        {
            ensureWritable();
            int done = 0;
            while (done < length)
            {
                final int n = Math.min(length - done, chunk.remaining());
                buffer.getBytes(offset + done, chunk.array(), chunk.position(), n);
                crc.update(chunk.array(), chunk.position(), n);
                chunk.position(chunk.position() + n);
                done += n;
                if (!chunk.hasRemaining())
                {
                    drain();
                }
            }
            position += length;
        }

        @Override
        public long position()
        {
            return position;
        }

        @Override
        public SnapshotMeta commit()
        {
            ensureWritable();
            drain();
            final SnapshotMeta committed = new SnapshotMeta(meta.lastIncluded(), meta.membership(), meta.snapshotId(), position,
                (int)crc.getValue());
            try
            {
                final ByteBuffer trailer = ByteBuffer.wrap(encodeTrailer(committed, nextSequence()));
                while (trailer.hasRemaining())
                {
                    channel.write(trailer);
                }
                channel.force(true);
                channel.close();
            }
            catch (final IOException ex)
            {
                abort();
                throw new RaftStorageException("cannot write snapshot file " + temp + ": " + ex, ex);
            }
            done = true;
            return install(temp, committed);
        }

        @Override
        public void abort()
        {
            if (done)
            {
                return;
            }
            done = true;
            closeChannel(channel, temp);
            AtomicFiles.delete(temp);
        }

        @Override
        public void close()
        {
            abort();
        }

        private void drain()
        {
            chunk.flip();
            try
            {
                while (chunk.hasRemaining())
                {
                    channel.write(chunk);
                }
            }
            catch (final IOException ex)
            {
                throw new RaftStorageException("cannot write snapshot file " + temp + ": " + ex, ex);
            }
            chunk.clear();
        }

        private void ensureWritable()
        {
            if (done)
            {
                throw new IllegalStateException("snapshot " + meta.snapshotId() + " is already committed or aborted");
            }
        }
    }

    private static final class Reader implements SnapshotReader
    {
        private final Path file;
        private final FileChannel channel;
        private final SnapshotMeta meta;
        private ByteBuffer buffer = ByteBuffer.allocate(0);

        Reader(final Path file, final FileChannel channel, final SnapshotMeta meta)
        {
            this.file = file;
            this.channel = channel;
            this.meta = meta;
        }

        @Override
        public SnapshotMeta meta()
        {
            return meta;
        }

        @Override
        public long size()
        {
            return meta.sizeBytes();
        }

        @Override
        public int read(final long position, final MutableDirectBuffer dst, final int dstOffset, final int maxLength)
        {
            if (position < 0 || position > meta.sizeBytes())
            {
                throw new IllegalArgumentException("position " + position + " outside [0, " + meta.sizeBytes() + "] of " + file);
            }
            final int n = (int)Math.min(maxLength, meta.sizeBytes() - position);
            if (n == 0)
            {
                return 0;
            }
            if (buffer.capacity() < n)
            {
                buffer = ByteBuffer.allocate(Math.max(n, Math.min(CHUNK, 2 * buffer.capacity())));
            }
            buffer.clear().limit(n);
            try
            {
                readFully(channel, buffer, position);
            }
            catch (final IOException ex)
            {
                throw new RaftStorageException("cannot read snapshot file " + file + " at " + position + ": " + ex, ex);
            }
            dst.putBytes(dstOffset, buffer.array(), 0, n);
            return n;
        }

        @Override
        public void close()
        {
            closeChannel(channel, file);
        }
    }
}
