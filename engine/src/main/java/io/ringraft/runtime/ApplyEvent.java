package io.ringraft.runtime;

import io.ringraft.WriteHandler;
import org.agrona.ExpandableArrayBuffer;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A slot of the apply ring, in apply order: a committed entry for the state machine (with the
 * caller to answer, if the write came through this node), a batch of linearizable reads to
 * complete once every entry before it is applied, a request to build a snapshot at this point,
 * or a received snapshot to install.
 */
public final class ApplyEvent
{
    static final int ENTRY = 1;
    static final int READS = 2;
    static final int BUILD_SNAPSHOT = 3;
    static final int INSTALL_SNAPSHOT = 4;

    int type;
    long index;
    long term;
    // Primitives and same-region references where it can: a reference stored per entry into a long-lived ring slot
    // dirties a card that G1's refinement thread must then scan (5–12 % of shape B's CPU went there).
    boolean normal;
    ExpandableArrayBuffer payload = new ExpandableArrayBuffer(128);
    int length;
    long correlationId;
    /**
     * The handler of an {@link #ENTRY} written through this node, else null. Other events leave the slot's last
     * handler in place (it is not theirs): an entry stores a handler only when it differs from the slot's.
     */
    WriteHandler handler;
    List<CompletableFuture<Long>> reads;
    long readIndex;
    io.ringraft.Membership membership;
    io.ringraft.storage.SnapshotMeta snapshot;

    /** The entry was applied: gives back what its payload took of {@code budget}. */
    void releasePayload(final PayloadBudget budget)
    {
        final ExpandableArrayBuffer released = budget.release(payload, length);
        if (released != payload)
        {
            payload = released;
        }
        length = 0;
    }

    /** Lets go of what the event refers to, but {@link #handler} (see there). */
    void clear()
    {
        reads = null;
        membership = null;
        snapshot = null;
    }
}
