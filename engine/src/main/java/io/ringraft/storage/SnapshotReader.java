package io.ringraft.storage;

import org.agrona.MutableDirectBuffer;

/** Reads a committed snapshot's data at any position, for restore or transfer in chunks. */
public interface SnapshotReader extends AutoCloseable
{
    /** @return the snapshot's meta */
    SnapshotMeta meta();

    /** @return the data length in bytes */
    long size();

    /**
     * Copies up to {@code maxLength} bytes starting at {@code position}.
     *
     * @param position  where to read, {@code 0 <= position <= size()}
     * @param dst       where to copy to
     * @param dstOffset where in {@code dst}
     * @param maxLength the most bytes to copy
     * @return how many bytes were copied; 0 at the end
     */
    int read(long position, MutableDirectBuffer dst, int dstOffset, int maxLength);

    @Override
    void close();
}
