package io.ringraft.bench.deployed;

import org.agrona.DirectBuffer;

/**
 * One deployed shape under the closed-loop load of {@link DeployedShapesBench}: a cluster started in this
 * JVM and the client path into it. The load thread calls {@link #offer} and {@link #poll}; replies reach the
 * {@link Replies} given to {@link #start}, from the load thread (client over Aeron) or a node thread
 * (in-process client).
 */
public interface Shape extends AutoCloseable
{
    /** Receives the outcome of each command. */
    interface Replies
    {
        /**
         * @param seq the command's sequence number (its first 8 bytes)
         * @param ok  false if the cluster refused or failed it
         */
        void onReply(long seq, boolean ok);
    }

    /**
     * Starts the cluster and the client, and returns once a leader is elected and the client can send.
     *
     * @param settings the bench settings (key=value), see {@link DeployedShapesBench}
     * @param replies  where outcomes go
     * @throws Exception if it cannot start
     */
    void start(java.util.Map<String, String> settings, Replies replies) throws Exception;

    /**
     * @param payload the command, its first long the sequence number
     * @param length  its length
     * @return true if the command was sent, false if back-pressured (try again later)
     */
    boolean offer(DirectBuffer payload, int length);

    /** @return the work done delivering replies (0 when there was nothing to do) */
    int poll();

    /** @return one line naming the shape's threads, drivers and settings, for the report */
    String describe();

    /** Stops the client and the cluster and deletes what they wrote. */
    @Override
    void close();

    /**
     * Lets the load thread's idle strategy sleep on the client's sockets (clientIdle=ytw): only shapes whose client
     * runs its own driver in the load thread can.
     *
     * @param idle the load thread's idle strategy
     */
    default void bindClientIdle(final io.ringraft.YieldThenWaitIdleStrategy idle)
    {
        throw new IllegalArgumentException("clientIdle=ytw needs shape=A with client=composed and a driver per node");
    }
}
