package io.ringraft.runtime;

import io.ringraft.RaftEventListener;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import org.agrona.DirectBuffer;
import org.agrona.ErrorHandler;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * A node's fail-stop, shared by its agents: the first failure of any of them (a storage error, a
 * state machine that threw, a broken invariant), on whichever thread and whichever network
 * delivered the message that caused it, stops the node as a whole. Every agent checks it once per
 * duty cycle and stops; what the node had accepted is then answered with {@code FATAL}.
 * <p>
 * It is also the node's one way to report errors: to the configured {@link ErrorHandler} and the
 * error counters. Application callbacks ({@link WriteHandler}s) are called through it, so one that
 * throws is reported and counted, and the node goes on.
 */
final class FailStop
{
    private static final AtomicReferenceFieldUpdater<FailStop, Throwable> CAUSE =
        AtomicReferenceFieldUpdater.newUpdater(FailStop.class, Throwable.class, "cause");

    private final long nodeId;
    private final ErrorHandler errorHandler;
    private final RaftEventListener listener;
    private final AtomicCounter failedCounter;
    private final AtomicCounter errors;
    private final AtomicCounter callbackErrors;
    private volatile Throwable cause;
    private volatile Runnable onFailure;

    FailStop(final long nodeId, final ErrorHandler errorHandler, final RaftEventListener listener, final RaftCounters counters)
    {
        this.nodeId = nodeId;
        this.errorHandler = errorHandler;
        this.listener = listener;
        this.failedCounter = counters.failed;
        this.errors = counters.errors;
        this.callbackErrors = counters.callbackErrors;
    }

    /** @param action runs once, on the failing thread, right after the first failure is recorded and before it is reported */
    void onFailure(final Runnable action)
    {
        onFailure = action;
    }

    /**
     * Stops the node: records {@code failure} if it is the first, marks the counters and reports it.
     *
     * @return true if this was the first failure
     */
    boolean fail(final Throwable failure)
    {
        errors.increment();
        final boolean first = CAUSE.compareAndSet(this, null, failure);
        final Runnable action = onFailure;
        if (first)
        {
            failedCounter.setOrdered(1);
            if (action != null)
            {
                action.run();
            }
            try
            {
                listener.onFatal(nodeId, failure);
            }
            catch (final Throwable ex)
            {
                callbackFailed(ex);
            }
        }
        report(failure);
        return first;
    }

    /** @return true once the node failed */
    boolean failed()
    {
        return cause != null;
    }

    /** @return the first failure, or null */
    Throwable cause()
    {
        return cause;
    }

    /** @return how a stopped node answers writes: {@code FATAL} once it failed, else {@code SHUT_DOWN} */
    int writeStatus()
    {
        return cause != null ? WriteStatus.FATAL : WriteStatus.SHUT_DOWN;
    }

    /** @return how a stopped node fails reads and other futures: {@code FATAL} with the cause once it failed, else {@code SHUT_DOWN} */
    RaftException stopped(final long nodeId)
    {
        final Throwable failure = cause;
        return failure != null ?
            new RaftException(WriteStatus.FATAL, Vote.NO_NODE, "node " + nodeId + " failed and stopped: " + failure, failure) :
            new RaftException(WriteStatus.SHUT_DOWN, Vote.NO_NODE, "node " + nodeId + " is shut down");
    }

    /** Hands an error to the error handler; a handler that throws loses only its own exception. */
    void report(final Throwable error)
    {
        try
        {
            errorHandler.onError(error);
        }
        catch (final Throwable ignore)
        {
            // The error handler is the last place to report to.
        }
    }

    /** Calls an application's handler; what it throws is reported and counted, and the node goes on. */
    void onWriteResult(final WriteHandler handler, final long correlationId, final int status, final long index, final long leaderId,
        final DirectBuffer response, final int offset, final int length)
    {
        try
        {
            handler.onWriteResult(correlationId, status, index, leaderId, response, offset, length);
        }
        catch (final Throwable ex)
        {
            callbackFailed(ex);
        }
    }

    /** An application callback threw: reported and counted; the node goes on. */
    void callbackFailed(final Throwable ex)
    {
        callbackErrors.increment();
        report(ex);
    }
}
