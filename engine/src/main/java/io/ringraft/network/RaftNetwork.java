package io.ringraft.network;

/**
 * How a node sends and receives {@link RaftMessage}s. One thread sends ({@code RaftCore}) and
 * one thread polls; neither call blocks.
 * <p>
 * Delivery is unreliable by contract: messages may be lost, delayed, duplicated or reordered;
 * the protocol tolerates all of it. A send that cannot go now reports it and the caller retries
 * on a later duty cycle.
 * <p>
 * Messages are not handed over for keeps, so that the write path allocates nothing: the sender
 * reuses its {@link AppendEntriesRequest} and {@link AppendEntriesResponse} as soon as
 * {@link #send} returns (an implementation copies or encodes the message before returning), and
 * a message delivered by {@link #poll} is valid only during {@link MessageHandler#onMessage} (an
 * implementation may decode into one reused instance, the entries read in place). A receiver
 * that keeps a message keeps {@link RaftMessage#copy()}. The testkit's conformance suite checks
 * both.
 */
public interface RaftNetwork extends AutoCloseable
{
    /** The message was handed to the transport. */
    int SENT = 0;
    /** The transport is full: try again later. */
    int BACK_PRESSURED = -1;
    /** The peer is not connected (yet, or any more). */
    int NOT_CONNECTED = -2;
    /** The network is closed. */
    int CLOSED = -3;

    /**
     * @param message the message; its {@code to()} names the peer
     * @return {@link #SENT}, {@link #BACK_PRESSURED}, {@link #NOT_CONNECTED} or {@link #CLOSED}
     */
    int send(RaftMessage message);

    /**
     * Delivers received messages to {@code handler}.
     *
     * @param handler receives each message
     * @param limit   the most messages to deliver in this call
     * @return how many were delivered
     */
    int poll(MessageHandler handler, int limit);

    /**
     * @return the largest message this network carries, in bytes; the node sizes its
     *         AppendEntries batches and snapshot chunks to fit
     */
    default int maxMessageLength()
    {
        return Integer.MAX_VALUE;
    }

    @Override
    void close();

    /** Receives messages from {@link #poll}. */
    @FunctionalInterface
    interface MessageHandler
    {
        /** @param message a message addressed to this node, valid only during this call */
        void onMessage(RaftMessage message);
    }
}
