package io.ringraft.storage.chronicle;

import io.ringraft.LogId;
import io.ringraft.storage.RaftStorageException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The log's own metadata, replaced atomically as a whole (see {@link AtomicFiles}): the purge
 * point, the highest roll cycle ever used, and the two steps of a segment rewrite.
 *
 * @param lastPurged   the last purged log id
 * @param maxCycle     the highest cycle ever allocated; the logical clock never goes below it
 * @param rewriteCycle the cycle a rewrite is copying into, not yet committed (-1 if none):
 *                     recovery deletes it
 * @param deleteFrom   first cycle of a committed rewrite's superseded range (-1 if none)
 * @param deleteTo     last cycle of that range, inclusive: recovery deletes any file in it
 */
record LogMeta(LogId lastPurged, int maxCycle, int rewriteCycle, int deleteFrom, int deleteTo)
{
    static final String FILE_NAME = "log.meta";

    private static final int MAGIC = 0x524c4d54; // "RLMT"
    private static final int VERSION = 1;
    private static final int LENGTH = 44;

    static LogMeta initial()
    {
        return new LogMeta(LogId.ZERO, 0, -1, -1, -1);
    }

    LogMeta withLastPurged(final LogId purged, final int newMaxCycle)
    {
        return new LogMeta(purged, newMaxCycle, rewriteCycle, deleteFrom, deleteTo);
    }

    LogMeta withRewrite(final int cycle)
    {
        return new LogMeta(lastPurged, Math.max(maxCycle, cycle), cycle, deleteFrom, deleteTo);
    }

    LogMeta withCommittedRewrite(final int newMaxCycle, final int from, final int to)
    {
        return new LogMeta(lastPurged, newMaxCycle, -1, from, to);
    }

    void write(final Path file, final boolean durable)
    {
        final ByteBuffer buffer = ByteBuffer.allocate(LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(MAGIC).putInt(VERSION)
            .putLong(lastPurged.term()).putLong(lastPurged.index())
            .putInt(maxCycle).putInt(rewriteCycle).putInt(deleteFrom).putInt(deleteTo);
        final CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, LENGTH - 4);
        buffer.putInt((int)crc.getValue());
        AtomicFiles.replace(file, buffer.array(), durable);
    }

    static LogMeta read(final Path file)
    {
        final byte[] bytes;
        try
        {
            bytes = Files.readAllBytes(file);
        }
        catch (final IOException ex)
        {
            throw new RaftStorageException("cannot read log metadata " + file + ": " + ex, ex);
        }
        final ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length != LENGTH || buffer.getInt(0) != MAGIC)
        {
            throw new RaftStorageException("log metadata " + file + " is not a ringraft log metadata file (" + bytes.length + " bytes)");
        }
        final CRC32C crc = new CRC32C();
        crc.update(bytes, 0, LENGTH - 4);
        if ((int)crc.getValue() != buffer.getInt(LENGTH - 4))
        {
            throw new RaftStorageException("log metadata " + file + " fails its CRC32C: corrupt");
        }
        if (buffer.getInt(4) != VERSION)
        {
            throw new RaftStorageException("log metadata " + file + " has unknown version " + buffer.getInt(4));
        }
        return new LogMeta(new LogId(buffer.getLong(8), buffer.getLong(16)),
            buffer.getInt(24), buffer.getInt(28), buffer.getInt(32), buffer.getInt(36));
    }
}
