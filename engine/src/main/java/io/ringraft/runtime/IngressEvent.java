package io.ringraft.runtime;

import io.ringraft.WriteHandler;
import org.agrona.ExpandableArrayBuffer;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A slot of the ingress ring: a client write (its payload copied into the slot's own buffer,
 * which grows up to {@code RaftConfig.ringSlotBytes} and is reused; a larger payload is bounded
 * by a {@link PayloadBudget}), a linearizable-read request, or a control task for
 * {@link RaftCore}'s thread.
 */
public final class IngressEvent
{
    static final int WRITE = 1;
    static final int READ = 2;
    static final int CONTROL = 3;

    int type;
    ExpandableArrayBuffer payload = new ExpandableArrayBuffer(128);
    int length;
    long correlationId;
    /**
     * A write's handler. Meaningful only for a {@link #WRITE}; it stays after {@link #clear()} so that the next
     * write with the same handler stores no reference (a GC card marked per write under G1): a handler stays
     * reachable until its slot carries another write.
     */
    WriteHandler handler;
    CompletableFuture<Long> read;
    boolean leaseRead;
    Consumer<RaftCore> control;

    /** The write was consumed: gives back what its payload took of {@code budget}. */
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
        read = null;
        control = null;
    }
}
