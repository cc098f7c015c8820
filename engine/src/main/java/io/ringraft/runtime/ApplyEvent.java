package io.ringraft.runtime;

import io.ringraft.EntryType;
import io.ringraft.WriteHandler;
import org.agrona.ExpandableArrayBuffer;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A slot of the apply ring: a committed entry for the state machine (with the caller to answer,
 * if the write came through this node), or a batch of linearizable reads to complete once every
 * entry before it in the ring is applied.
 */
public final class ApplyEvent
{
    static final int ENTRY = 1;
    static final int READS = 2;

    int type;
    long index;
    long term;
    EntryType entryType;
    final ExpandableArrayBuffer payload = new ExpandableArrayBuffer(128);
    int length;
    long correlationId;
    WriteHandler handler;
    List<CompletableFuture<Long>> reads;
    long readIndex;

    void clear()
    {
        handler = null;
        reads = null;
    }
}
