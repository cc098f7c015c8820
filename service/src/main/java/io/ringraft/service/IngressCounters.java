package io.ringraft.service;

import io.ringraft.transport.aeron.ClientAuth;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What the client ingress refused or dropped, per reason, and how many response publications it
 * holds; readable from any thread. Remote input is never thrown: it is counted here. Frames its
 * authentication gate refused are counted per {@link ClientAuth} reason ({@link #authDropped(int)}).
 */
public final class IngressCounters
{
    /** A frame that does not decode (too short, bad magic or version, unknown type, bad field). */
    public static final int MALFORMED = 0;
    /** A frame longer than the longest request the node accepts. */
    public static final int OVERSIZED = 1;
    /** A frame naming another cluster id. */
    public static final int WRONG_CLUSTER = 2;
    /** A frame of a session that is not open (it cannot be answered: it has no registered channel). */
    public static final int UNKNOWN_SESSION = 3;
    /** An OPEN refused because as many opens as allowed are in flight. */
    public static final int OPEN_REFUSED = 4;
    /** A request refused because as many writes or reads as allowed are in flight (answered BUSY). */
    public static final int BUSY = 5;
    /** A response dropped because its session's backlog was full. */
    public static final int BACKLOG_DROPPED = 6;
    /** An OPEN refused by the session cap (answered SESSION_LIMIT). */
    public static final int SESSION_LIMIT = 7;
    /** A command or query answered with a redirect (not an error: counted to show routing). */
    public static final int REDIRECTED = 8;
    /** An authentic frame for a session another client owns (or, unsigned, for a session opened signed, or the reverse). */
    public static final int WRONG_CLIENT = 9;
    /** A response not sent because its client's key was withdrawn from the credentials since the client signed with it. */
    public static final int KEY_WITHDRAWN = 10;

    private static final String[] NAMES = {"malformed", "oversized", "wrongCluster", "unknownSession", "openRefused", "busy",
        "backlogDropped", "sessionLimit", "redirected", "wrongClient", "keyWithdrawn"};

    private final AtomicLongArray counts = new AtomicLongArray(NAMES.length);
    private volatile int publications;
    private volatile long requests;
    private volatile ClientAuth auth;

    void auth(final ClientAuth auth)
    {
        this.auth = auth;
    }

    /**
     * @param reason a {@link ClientAuth} reason ({@link ClientAuth#BAD_MAC}, ...)
     * @return how many frames the ingress's authentication gate refused for it
     */
    public long authDropped(final int reason)
    {
        final ClientAuth a = auth;
        return a == null ? 0 : a.dropped(reason);
    }

    void increment(final int reason)
    {
        counts.incrementAndGet(reason);
    }

    void publications(final int count)
    {
        publications = count;
    }

    void requests(final long count)
    {
        requests = count;
    }

    /**
     * @param reason one of the constants
     * @return how many frames were refused or dropped for it
     */
    public long get(final int reason)
    {
        return counts.get(reason);
    }

    /**
     * @return the sum of the refusals (malformed, oversized, wrong cluster, unknown session, open
     *         refused, busy, backlog dropped, wrong client, key withdrawn, and the authentication gate's)
     */
    public long refused()
    {
        long sum = counts.get(WRONG_CLIENT) + counts.get(KEY_WITHDRAWN);
        for (int i = 0; i <= BACKLOG_DROPPED; i++)
        {
            sum += counts.get(i);
        }
        final ClientAuth a = auth;
        return sum + (a == null ? 0 : a.dropped());
    }

    /** @return the response publications the ingress holds now (sessions and opens in flight) */
    public int publications()
    {
        return publications;
    }

    /** @return the frames received so far */
    public long requests()
    {
        return requests;
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("requests=").append(requests).append(" publications=").append(publications);
        for (int i = 0; i < NAMES.length; i++)
        {
            sb.append(' ').append(NAMES[i]).append('=').append(counts.get(i));
        }
        for (int i = 0; i < ClientAuth.reasons(); i++)
        {
            sb.append(" auth.").append(ClientAuth.reasonName(i)).append('=').append(authDropped(i));
        }
        return sb.toString();
    }
}
