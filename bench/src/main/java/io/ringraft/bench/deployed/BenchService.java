package io.ringraft.bench.deployed;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import io.ringraft.Raft;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.PublicationChannels;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The small service of shape A, written on ringraft's public API only: it takes commands from one client over
 * Aeron UDP (a subscription on the node's client endpoint), writes each with the zero-allocation
 * {@link Raft#clientWrite}, and once the leader has applied it replies to the client with the command's
 * sequence number (its first 8 bytes; negative for a refusal). A command refused with back-pressure stays in
 * the subscription (controlled poll, ABORT) until the node takes it. It is an {@link Agent}: on a thread of its
 * own, or composed into another duty cycle.
 */
final class BenchService implements Agent, AutoCloseable
{
    private final Raft raft;
    private final Aeron aeron;
    private final boolean ownsAeron;
    private final Subscription ingress;
    private final Publication egress;
    private final UnsafeBuffer okReply = new UnsafeBuffer(new byte[8]);
    private final UnsafeBuffer errorReply = new UnsafeBuffer(new byte[8]);
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong replyRetries = new AtomicLong();
    private final WriteHandler onResult = this::onResult;
    private final ControlledFragmentHandler onCommand = this::onCommand;

    /**
     * @param raft            the node
     * @param aeron           an Aeron client on the node's media driver
     * @param ownsAeron       true to close {@code aeron} with the service
     * @param ingressEndpoint host:port where the client sends commands
     * @param egressEndpoint  host:port where the client listens for replies
     * @param streamId        the stream of both
     */
    BenchService(final Raft raft, final Aeron aeron, final boolean ownsAeron, final String ingressEndpoint, final String egressEndpoint,
        final int streamId)
    {
        this.raft = raft;
        this.aeron = aeron;
        this.ownsAeron = ownsAeron;
        this.ingress = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(ingressEndpoint).build(), streamId);
        this.egress = aeron.addPublication(PublicationChannels.udp(egressEndpoint, AeronTransportConfig.TERM_LENGTH_DEFAULT,
            PublicationChannels.MTU_AUTO), streamId);
    }

    @Override
    public int doWork()
    {
        return ingress.controlledPoll(onCommand, 64);
    }

    private ControlledFragmentHandler.Action onCommand(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final long seq = buffer.getLong(offset);
        final int status = raft.clientWrite(buffer, offset, length, seq, onResult);
        if (status == WriteStatus.BACK_PRESSURED)
        {
            return ControlledFragmentHandler.Action.ABORT;
        }
        if (status != WriteStatus.OK)
        {
            refused.incrementAndGet();
            errorReply.putLong(0, -seq - 1);
            reply(errorReply);
        }
        return ControlledFragmentHandler.Action.CONTINUE;
    }

    /** Called by the node once the write is applied (or has failed). */
    private void onResult(final long seq, final int status, final long index, final long leaderId, final DirectBuffer response,
        final int offset, final int length)
    {
        okReply.putLong(0, status == WriteStatus.OK ? seq : -seq - 1);
        reply(okReply);
    }

    private void reply(final UnsafeBuffer buffer)
    {
        long result;
        while ((result = egress.offer(buffer, 0, 8)) < 0)
        {
            if (result == Publication.CLOSED || result == Publication.NOT_CONNECTED || result == Publication.MAX_POSITION_EXCEEDED)
            {
                refused.incrementAndGet();
                return;
            }
            // Back-pressured by the client's receiver window (never at these sizes): the reply must not be lost.
            replyRetries.incrementAndGet();
            Thread.onSpinWait();
        }
    }

    /** @return true once the client's subscription is connected to this service's replies */
    boolean isEgressConnected()
    {
        return egress.isConnected();
    }

    /** @return commands refused by the node, and replies that could not be sent */
    long refused()
    {
        return refused.get();
    }

    /** @return offers of a reply retried after back-pressure */
    long replyRetries()
    {
        return replyRetries.get();
    }

    @Override
    public String roleName()
    {
        return "bench-service-" + raft.nodeId();
    }

    @Override
    public void onClose()
    {
        close();
    }

    @Override
    public void close()
    {
        CloseHelper.closeAll(ingress, egress);
        if (ownsAeron)
        {
            CloseHelper.close(aeron);
        }
    }
}
