package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.exceptions.AeronException;
import org.agrona.concurrent.AgentTerminationException;

import java.util.function.Consumer;

/**
 * Watches an Aeron client that a part of a node owns, for the client stopping by itself (its media
 * driver gone or timed out, its conductor not run within the liveness timeout, a close its owner
 * did not ask for): after that the part can send and receive nothing more, and the node must fail
 * stop rather than go on half-running. Install it with {@link #watch(Aeron.Context)}; the owner
 * calls {@link #check()} once per duty cycle and {@link #ownerCloses()} before it closes the client.
 * <p>
 * Safe from any thread: the client's conductor (or, in invoker mode, the invoking thread) reports.
 */
public final class AeronClientWatch
{
    private final String owner;
    private final Consumer<String> log;
    private volatile Throwable failure;
    private volatile boolean ownerClosing;

    /**
     * @param owner what owns the client, for the messages ("ringraft transport node 1")
     * @param log   where errors the client survives go
     */
    public AeronClientWatch(final String owner, final Consumer<String> log)
    {
        this.owner = owner;
        this.log = log;
    }

    /**
     * @param ctx the client's context
     * @return {@code ctx} with this watch as its error handler and close handler
     */
    public Aeron.Context watch(final Aeron.Context ctx)
    {
        return ctx.errorHandler(this::onError).closeHandler(this::onClosed);
    }

    /**
     * The client's error handler: an error after which the client has stopped (fatal, or its
     * conductor terminated) is the client's failure; any other is logged.
     *
     * @param error what the client reported
     */
    public void onError(final Throwable error)
    {
        if (ownerClosing)
        {
            return;
        }
        if (error instanceof AgentTerminationException || AeronException.isFatal(error))
        {
            stopped(error);
        }
        else
        {
            log.accept(owner + ": Aeron client error: " + error);
        }
    }

    /** The client's close handler: unless its owner closes it, it stopped by itself. */
    public void onClosed()
    {
        if (!ownerClosing)
        {
            stopped(new AeronException("the Aeron client closed", AeronException.Category.FATAL));
        }
    }

    /** The owner is about to close the client: what follows is not a failure. */
    public void ownerCloses()
    {
        ownerClosing = true;
    }

    /** @return why the client stopped by itself, or null while it runs */
    public Throwable failure()
    {
        return failure;
    }

    /** @throws IllegalStateException if the client stopped by itself, with its cause */
    public void check()
    {
        final Throwable cause = failure;
        if (cause != null)
        {
            throw new IllegalStateException(owner + ": the Aeron client stopped (" + cause + "); it can send and receive nothing more", cause);
        }
    }

    private void stopped(final Throwable cause)
    {
        if (failure == null)
        {
            failure = cause; // the first cause is kept; a later one (the close that follows) says less
        }
    }
}
