package io.ringraft;

import org.agrona.DirectBuffer;

/**
 * Receives the outcome of a zero-allocation {@link Raft#clientWrite(DirectBuffer, int, int, long, WriteHandler)}.
 * Called once per accepted write, from a node thread (the state-machine worker for
 * {@link WriteStatus#OK}, {@code RaftCore} otherwise, or the closing thread); keep it short and
 * never block. What it throws is caught and reported to {@link RaftConfig#errorHandler}; the node
 * goes on.
 */
@FunctionalInterface
public interface WriteHandler
{
    /**
     * @param correlationId the id the caller gave
     * @param status        a {@link WriteStatus} code
     * @param index         the log index of the write, or 0 if it never got one
     * @param leaderId      the known leader for {@link WriteStatus#NOT_LEADER}, else {@link Vote#NO_NODE}
     * @param response      the state machine's response for {@link WriteStatus#OK}; valid only during the call
     * @param offset        where it starts
     * @param length        its length (0 for failures)
     */
    void onWriteResult(long correlationId, int status, long index, long leaderId, DirectBuffer response, int offset, int length);
}
