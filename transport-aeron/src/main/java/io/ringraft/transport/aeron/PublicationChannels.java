package io.ringraft.transport.aeron;

import io.aeron.ChannelUriStringBuilder;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * The Aeron channel of every UDP publication ringraft opens (Raft traffic between nodes, client
 * commands, responses and admin replies): one place that decides its term length and its MTU.
 * <p>
 * The MTU bounds the datagram Aeron's sender fills from a publication's log: with 1,408 bytes
 * (Aeron's default, safe on any path) a batch of 256 small commands takes 15 or more datagrams,
 * and at hundreds of thousands of commits a second the {@code sendto}/{@code recvfrom} pair of each
 * datagram is most of the CPU. {@link #MTU_AUTO} (the default everywhere) keeps Aeron's default on
 * the network but uses {@link #LOOPBACK_MTU} towards a loopback address, where the interface's MTU
 * is 64 KiB and nothing is fragmented: shape A of the deployed benchmark (three nodes and a client
 * on one host) commits 1.7-1.8 times as much with it. A network whose every hop carries jumbo
 * frames can set the MTU explicitly (for 9,000-byte frames: 8,960, less any tunnel's headers).
 */
public final class PublicationChannels
{
    /** The MTU setting that chooses by the endpoint: {@link #LOOPBACK_MTU} on loopback, Aeron's default elsewhere. */
    public static final int MTU_AUTO = 0;
    /** The MTU chosen towards a loopback endpoint (capped at the term length / 8, Aeron's limit). */
    public static final int LOOPBACK_MTU = 8192;
    /** The smallest MTU accepted. */
    public static final int MTU_MIN = 1024;
    /** The largest MTU accepted: Aeron's largest UDP payload. */
    public static final int MTU_MAX = 65504;
    /** Aeron's frame alignment: an MTU is a multiple of it. */
    private static final int FRAME_ALIGNMENT = 32;

    private PublicationChannels()
    {
    }

    /**
     * @param endpoint   the receiver's UDP "host:port" ("[v6]:port" for IPv6)
     * @param termLength the publication's term length (a power of two from 64 KiB)
     * @param mtu        {@link #MTU_AUTO} or an MTU that {@link #mtuProblem} accepts with this term length
     * @return the channel of an exclusive publication to {@code endpoint} (sparse log)
     */
    public static String udp(final String endpoint, final int termLength, final int mtu)
    {
        final ChannelUriStringBuilder builder = new ChannelUriStringBuilder()
            .media("udp").endpoint(endpoint).termLength(termLength).sparse(true);
        final int chosen = mtuFor(endpoint, termLength, mtu);
        if (chosen != MTU_AUTO)
        {
            builder.mtu(chosen);
        }
        return builder.build();
    }

    /**
     * @param endpoint   the receiver's "host:port"
     * @param termLength the publication's term length
     * @param mtu        the setting: {@link #MTU_AUTO} or an explicit MTU
     * @return the MTU to put in the channel, or {@link #MTU_AUTO} for the driver's default
     */
    public static int mtuFor(final String endpoint, final int termLength, final int mtu)
    {
        if (mtu != MTU_AUTO)
        {
            return mtu;
        }
        return isLoopback(endpoint) ? Math.min(LOOPBACK_MTU, AeronTransportConfig.aeronMaxMessageLength(termLength)) : MTU_AUTO;
    }

    /**
     * @param mtu        an MTU setting
     * @param termLength the term length of the publications it applies to
     * @return why the setting cannot be used, or null when it can
     */
    public static String mtuProblem(final int mtu, final int termLength)
    {
        if (mtu == MTU_AUTO)
        {
            return null;
        }
        if (mtu < MTU_MIN || mtu > MTU_MAX || mtu % FRAME_ALIGNMENT != 0)
        {
            return "must be 0 (auto) or a multiple of " + FRAME_ALIGNMENT + " from " + MTU_MIN + " to " + MTU_MAX;
        }
        final int limit = AeronTransportConfig.aeronMaxMessageLength(termLength);
        if (mtu > limit)
        {
            return "must be at most the term length / 8 (" + limit + " with a term length of " + termLength + ")";
        }
        return null;
    }

    /**
     * True when the endpoint's host is a loopback address given as a literal or as
     * {@code localhost}; never a name lookup (this runs on the threads that open publications).
     *
     * @param endpoint "host:port" or "[v6]:port"
     * @return true when it is on this host's loopback interface
     */
    static boolean isLoopback(final String endpoint)
    {
        final int colon = endpoint.lastIndexOf(':');
        String host = colon > 0 ? endpoint.substring(0, colon) : endpoint;
        final boolean bracketed = host.startsWith("[") && host.endsWith("]");
        if (bracketed)
        {
            host = host.substring(1, host.length() - 1);
        }
        if ("localhost".equals(host.toLowerCase(Locale.ROOT)))
        {
            return true;
        }
        if (bracketed ? host.indexOf(':') < 0 : !isIpv4Literal(host))
        {
            return false; // a name (bracketed or not): not looked up
        }
        try
        {
            return InetAddress.getByName(host).isLoopbackAddress(); // a literal: parsed, no lookup
        }
        catch (final UnknownHostException ex)
        {
            return false;
        }
    }

    private static boolean isIpv4Literal(final String host)
    {
        int dots = 0;
        int digits = 0;
        for (int i = 0; i < host.length(); i++)
        {
            final char c = host.charAt(i);
            if (c == '.')
            {
                if (digits == 0)
                {
                    return false;
                }
                dots++;
                digits = 0;
            }
            else if (c >= '0' && c <= '9' && ++digits <= 3)
            {
                continue;
            }
            else
            {
                return false;
            }
        }
        return dots == 3 && digits > 0;
    }
}
