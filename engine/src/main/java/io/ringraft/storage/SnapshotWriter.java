package io.ringraft.storage;

import org.agrona.DirectBuffer;

/** Writes one snapshot's data; nothing is visible until {@link #commit()}. */
public interface SnapshotWriter extends AutoCloseable
{
    /**
     * Appends bytes to the snapshot.
     *
     * @param buffer holds the bytes
     * @param offset where they start
     * @param length how many
     */
    void write(DirectBuffer buffer, int offset, int length);

    /** @return how many bytes were written so far */
    long position();

    /**
     * Makes the snapshot durable and visible atomically.
     *
     * @return its meta, with size and checksum
     */
    SnapshotMeta commit();

    /** Discards the snapshot. */
    void abort();

    /** Aborts unless committed. */
    @Override
    void close();
}
