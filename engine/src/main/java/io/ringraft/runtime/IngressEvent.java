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
    WriteHandler handler;
    CompletableFuture<Long> read;
    boolean leaseRead;
    Consumer<RaftCore> control;

    /** The write was consumed: gives back what its payload took of {@code budget}. */
    void releasePayload(final PayloadBudget budget)
    {
        payload = budget.release(payload, length);
        length = 0;
    }

    void clear()
    {
        handler = null;
        read = null;
        control = null;
    }
}
