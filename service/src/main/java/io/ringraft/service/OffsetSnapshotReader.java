package io.ringraft.service;

import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import org.agrona.MutableDirectBuffer;

/** The service's part of a snapshot: the reader's bytes from {@code start} on, read from position 0. */
final class OffsetSnapshotReader implements SnapshotReader
{
    private final SnapshotReader reader;
    private final long start;

    OffsetSnapshotReader(final SnapshotReader reader, final long start)
    {
        this.reader = reader;
        this.start = start;
    }

    @Override
    public SnapshotMeta meta()
    {
        return reader.meta();
    }

    @Override
    public long size()
    {
        return reader.size() - start;
    }

    @Override
    public int read(final long position, final MutableDirectBuffer dst, final int dstOffset, final int maxLength)
    {
        return reader.read(start + position, dst, dstOffset, maxLength);
    }

    @Override
    public void close()
    {
        // The host's reader is closed by its owner.
    }
}
