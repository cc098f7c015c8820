package io.ringraft.runtime;

import io.ringraft.WriteHandler;
import org.agrona.ExpandableArrayBuffer;

import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A slot of the ingress ring: a client write (its payload copied into the slot's own buffer,
 * which grows to the largest payload seen and is then reused), a linearizable-read request, or a
 * control task for {@link RaftCore}'s thread.
 */
public final class IngressEvent
{
    static final int WRITE = 1;
    static final int READ = 2;
    static final int CONTROL = 3;

    int type;
    final ExpandableArrayBuffer payload = new ExpandableArrayBuffer(128);
    int length;
    long correlationId;
    WriteHandler handler;
    CompletableFuture<Long> read;
    boolean leaseRead;
    Consumer<RaftCore> control;

    void clear()
    {
        handler = null;
        read = null;
        control = null;
    }
}
