package io.ringraft.network;

import io.ringraft.Membership;

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
     * <p>
     * What the handler throws comes out of this call (an implementation over a transport that
     * catches its handler's exceptions, as Aeron's does, throws it once the transport returns),
     * and so does the failure of the transport itself: a network that can carry no more messages
     * (its connection to the transport is gone and will not come back) throws from this call, and
     * from every later one, an exception naming the cause, rather than sending and receiving
     * nothing. The node fails stop on either.
     *
     * @param handler receives each message
     * @param limit   the most messages to deliver in this call
     * @return how many were delivered
     */
    int poll(MessageHandler handler, int limit);

    /**
     * Runs the transport's own work where it shares the node's thread (such as an Aeron media driver
     * and client conductor in invoker mode): the node calls it once per duty cycle, on the thread
     * that polls, just before {@link #poll}, and counts what it returns as work. A transport that
     * moves bytes only when it is run must report that work, or the node's idle strategy backs off
     * (parks) while a message is still on its way: a message longer than one datagram leaves one
     * datagram per run. The default has nothing to do.
     *
     * @return the work done, 0 when the transport was idle
     */
    default int doWork()
    {
        return 0;
    }

    /**
     * @return the largest message this network carries, in bytes; the node sizes its
     *         AppendEntries batches and snapshot chunks to fit
     */
    default int maxMessageLength()
    {
        return Integer.MAX_VALUE;
    }

    /**
     * The nodes this node exchanges messages with changed. The runtime calls it on the thread that
     * sends and polls, never concurrently with {@link #send} or {@link #poll}: once when it starts
     * on a log that holds a membership, then whenever the set changes. The peers are
     * {@code membership.allNodes()} (this node excluded): the voters of the membership in force, of
     * the next voter set while joint, the learners, and a node just removed until it has learned
     * of its removal. {@code membership.endpoints()} gives the addresses the membership carries
     * (see {@link Membership}).
     * <p>
     * A network that reaches nodes by address opens connections to new peers and closes those of
     * peers no longer listed, and drops (and counts) messages from senders not listed. Until the
     * first call it uses what it was configured with. The default does nothing: a network whose
     * peers are fixed needs nothing else.
     *
     * @param membership the peers and their endpoints
     */
    default void onMembershipChanged(final Membership membership)
    {
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
