package io.ringraft.storage;

import io.ringraft.EntryType;
import org.agrona.DirectBuffer;

/** Receives entries read from a {@link RaftLogStorage} without allocating. */
@FunctionalInterface
public interface EntryReader
{
    /**
     * @param term    the entry's term
     * @param index   the entry's index
     * @param type    what it carries
     * @param buffer  holds the payload; valid only during this call
     * @param offset  where the payload starts
     * @param length  its length
     * @return true to keep reading, false to stop after this entry
     */
    boolean onEntry(long term, long index, EntryType type, DirectBuffer buffer, int offset, int length);
}
