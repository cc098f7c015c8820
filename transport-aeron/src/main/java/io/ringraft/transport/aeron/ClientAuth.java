package io.ringraft.transport.aeron;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;

import static java.nio.ByteOrder.LITTLE_ENDIAN;

/**
 * Authentication of the frames of the client-facing protocols (the client protocol, the admin
 * protocol), with per-client credentials: the same {@link FrameAuthenticator} trailer as the Raft
 * transport's frames, after the id of the signer.
 * <pre>
 *   content    the protocol's frame, which marks itself signed (each protocol has a flag for it)
 *   principal  int64  requests: the client id; responses: the id of the node answering
 *   trailer    {@value FrameAuthenticator#TRAILER_LENGTH} bytes: key id, epoch, sequence, MAC (see {@link FrameAuthenticator})
 * </pre>
 * A client signs its requests with its own key (a key file of {@link ClusterKeys}'s format) under
 * its epoch and a sequence of its own; a node verifies them against the client's keys in its
 * {@link ClientCredentials} and checks them with a {@link ReplayGuard} per client id, which
 * accepts {@value #EPOCHS_PER_SENDER} processes with the same credentials side by side. A node
 * answers a client with the key the client signed with, under an epoch per reply stream
 * ({@link ReplyStream}: one per response publication, so streams need not be ordered with one
 * another) and the stream's sequence; the client verifies them against its own keys and checks
 * them per node.
 * <p>
 * {@link #admit} is the one gate of a frame: it counts every frame it refuses per reason
 * ({@link #dropped(int)}) and logs at most one line per reason every 10 s; it never throws.
 * Allocation-free once a client's keys are in use. Not thread-safe: one per receiving thread;
 * {@link #dropped(int)} and {@link #toString()} from any thread.
 */
public final class ClientAuth
{
    /** The bytes a signature adds after a frame's content: the principal and the trailer. */
    public static final int OVERHEAD = 8 + FrameAuthenticator.TRAILER_LENGTH;
    /** How many epochs of one sender (processes with the same credentials) are accepted side by side. */
    public static final int EPOCHS_PER_SENDER = 8;

    /** {@link #admit} refused: not signed, and signatures are required. */
    public static final int UNAUTHENTICATED = 0;
    /** {@link #admit} refused: signed, and this side holds no keys to check it (configurations differ). */
    public static final int UNEXPECTED_AUTHENTICATION = 1;
    /** {@link #admit} refused: marked signed, and shorter than a signature. */
    public static final int TOO_SHORT = 2;
    /** {@link #admit} refused: signed by a client id the credentials do not list. */
    public static final int UNKNOWN_CLIENT = 3;
    /** {@link #admit} refused: signed with a key id the signer's keys do not hold. */
    public static final int UNKNOWN_KEY = 4;
    /** {@link #admit} refused: the MAC does not match (forged, altered, or the wrong key under that id). */
    public static final int BAD_MAC = 5;
    /** {@link #admit} refused: authentic, of an epoch before the sender's live ones (a replay of an earlier run). */
    public static final int OLD_EPOCH = 6;
    /** {@link #admit} refused: authentic, and its sequence was seen already (a replay). */
    public static final int REPLAYED = 7;

    private static final String[] NAMES = {"UNAUTHENTICATED", "UNEXPECTED_AUTHENTICATION", "TOO_SHORT", "UNKNOWN_CLIENT",
        "UNKNOWN_KEY", "BAD_MAC", "OLD_EPOCH", "REPLAYED"};
    private static final int KEY_ID = 0;
    private static final int RELOAD = NAMES.length;
    private static final AtomicLong LAST_CLIENT_EPOCH = new AtomicLong();
    private static final AtomicLong LAST_STREAM_EPOCH = new AtomicLong();

    private final String name;
    private final long self;
    private final WatchedFile<ClientCredentials> credentials;
    private final boolean required;
    private final KeyRing ownKeys;
    private final FrameAuthenticator authenticator = new FrameAuthenticator();
    private final ReplayGuard replayGuard = new ReplayGuard(EPOCHS_PER_SENDER);
    private final Long2ObjectHashMap<FrameAuthenticator.Macs> clientMacs = new Long2ObjectHashMap<>();
    private final Long2LongHashMap lastKeyIds = new Long2LongHashMap(0);
    private final AtomicLongArray dropped = new AtomicLongArray(NAMES.length);
    private final RateLimitedLog log;
    private ClientCredentials credentialsInUse;
    private FrameAuthenticator.Macs ownMacs;
    private final long epoch;
    private long sequence;
    private long principal;
    private int keyId;

    private ClientAuth(final String name, final long self, final WatchedFile<ClientCredentials> credentials, final boolean required,
        final KeyRing ownKeys, final Consumer<String> log)
    {
        this.name = name;
        this.self = self;
        this.credentials = credentials;
        this.required = required;
        this.ownKeys = ownKeys;
        this.log = new RateLimitedLog(log, NAMES.length + 1);
        // A client's epoch: the clock, with a random part below the millisecond so that processes started together differ,
        // and distinct within this JVM.
        final long clock = SenderEpoch.nowMicros() + ThreadLocalRandom.current().nextInt(1000);
        this.epoch = ownKeys == null ? 0 : LAST_CLIENT_EPOCH.updateAndGet(last -> Math.max(clock, last + 1));
    }

    /**
     * The gate of a node's client-facing stream.
     *
     * @param name        names the stream in log lines ("ringraft node 1 client ingress")
     * @param nodeId      this node: the principal of its answers
     * @param credentials the clients let in, or null for none (then signed frames are refused)
     * @param required    true to refuse unsigned frames; requires credentials
     * @param log         where the rate-limited lines go
     * @return the gate
     * @throws IllegalArgumentException if signatures are required and there are no credentials
     */
    public static ClientAuth node(final String name, final long nodeId, final WatchedFile<ClientCredentials> credentials,
        final boolean required, final Consumer<String> log)
    {
        if (required && credentials == null)
        {
            throw new IllegalArgumentException(name + ": client authentication is required and there is no credentials file");
        }
        return new ClientAuth(name, nodeId, credentials, required, null, log);
    }

    /**
     * The signer and gate of a client, which requires every answer signed with one of its keys.
     *
     * @param name     names the client in log lines
     * @param clientId its id, as the nodes' credentials list it
     * @param keys     its keys; the signing key signs its requests
     * @param log      where the rate-limited lines go
     * @return the client's authenticator
     */
    public static ClientAuth client(final String name, final long clientId, final KeyRing keys, final Consumer<String> log)
    {
        if (clientId <= 0)
        {
            throw new IllegalArgumentException("clientId=" + clientId + " must be > 0");
        }
        return new ClientAuth(name, clientId, null, true, keys, log);
    }

    /** @return true if this side signs and checks signatures (a client with keys, a node with credentials) */
    public boolean enabled()
    {
        return ownKeys != null || credentials != null;
    }

    /** @return true if unsigned frames are refused */
    public boolean required()
    {
        return required;
    }

    /**
     * Decides whether a received frame may be processed: verifies a signed one and strips its
     * signature; refuses (counting the reason) a signed one that fails, an unsigned one when
     * signatures are required, a signed one when this side has no keys.
     *
     * @param buffer holds the frame
     * @param offset where it starts
     * @param length its length, signature included
     * @param signed true if the frame's protocol flag says it is signed
     * @return the length of the content to process, or -1 if the frame is refused; then
     *         {@link #principal()} is the signer (0 for an unsigned frame) and {@link #keyId()} its key
     */
    public int admit(final DirectBuffer buffer, final int offset, final int length, final boolean signed)
    {
        principal = 0;
        keyId = 0;
        if (!signed)
        {
            return required ? refuse(UNAUTHENTICATED, 0, buffer, offset, length) : length;
        }
        if (!enabled())
        {
            return refuse(UNEXPECTED_AUTHENTICATION, 0, buffer, offset, length);
        }
        if (length < OVERHEAD)
        {
            return refuse(TOO_SHORT, 0, buffer, offset, length);
        }
        final int signedLength = length - FrameAuthenticator.TRAILER_LENGTH;
        final long signer = buffer.getLong(offset + signedLength - 8, LITTLE_ENDIAN);
        final FrameAuthenticator.Macs macs = macsOf(signer);
        if (macs == null)
        {
            return refuse(UNKNOWN_CLIENT, signer, buffer, offset, length);
        }
        final int verdict = authenticator.verify(macs, buffer, offset, length);
        if (verdict != FrameAuthenticator.VALID)
        {
            return refuse(verdict == FrameAuthenticator.UNKNOWN_KEY ? UNKNOWN_KEY : BAD_MAC, signer, buffer, offset, length);
        }
        final int replay = replayGuard.check(signer, FrameAuthenticator.epoch(buffer, offset, length),
            FrameAuthenticator.sequence(buffer, offset, length));
        if (replay != ReplayGuard.ACCEPTED)
        {
            return refuse(replay == ReplayGuard.OLD_EPOCH ? OLD_EPOCH : REPLAYED, signer, buffer, offset, length);
        }
        principal = signer;
        keyId = FrameAuthenticator.keyId(buffer, offset, length);
        if (ownKeys == null && lastKeyIds.get(signer) != keyId)
        {
            lastKeyIds.put(signer, keyId);
        }
        return length - OVERHEAD;
    }

    /** @return the signer of the frame {@link #admit} last let in: a client id (node side), a node id (client side), 0 if unsigned */
    public long principal()
    {
        return principal;
    }

    /** @return the key id of the frame {@link #admit} last let in, 0 if unsigned */
    public int keyId()
    {
        return keyId;
    }

    /**
     * A client signs a request: appends its id and the trailer under its signing key, its epoch
     * and its next sequence.
     *
     * @param buffer holds the content and has room for {@link #OVERHEAD} bytes after it
     * @param offset where the content starts
     * @param length its length
     * @return {@link #OVERHEAD}
     */
    public int sign(final MutableDirectBuffer buffer, final int offset, final int length)
    {
        final FrameAuthenticator.Macs macs = ownMacs();
        final int signingKey = macs.keys.signingKeyId();
        buffer.putLong(offset + length, self, LITTLE_ENDIAN);
        authenticator.sign(macs.forId(signingKey), signingKey, buffer, offset, length + 8, epoch, ++sequence);
        return OVERHEAD;
    }

    /**
     * A node signs an answer on a reply stream with the key the stream's client signed with.
     *
     * @param buffer holds the content and has room for {@link #OVERHEAD} bytes after it
     * @param offset where the content starts
     * @param length its length
     * @param stream the reply stream
     * @return {@link #OVERHEAD}; 0 if the stream is not signed (its client did not sign); -1 if the
     *         credentials no longer hold the client's key (the answer must not be sent)
     */
    public int sign(final MutableDirectBuffer buffer, final int offset, final int length, final ReplyStream stream)
    {
        if (stream.clientId == 0)
        {
            return 0;
        }
        final FrameAuthenticator.Macs macs = macsOf(stream.clientId);
        final HmacSha256 mac = macs == null ? null : macs.forId(stream.keyId);
        if (mac == null)
        {
            return -1;
        }
        buffer.putLong(offset + length, self, LITTLE_ENDIAN);
        authenticator.sign(mac, stream.keyId, buffer, offset, length + 8, stream.epoch, ++stream.sequence);
        return OVERHEAD;
    }

    /**
     * A client signs a request encoded in an array (for protocols that encode into arrays, such as
     * the admin protocol, whose signed flag the caller has set).
     *
     * @param frame the request
     * @return a copy with the signature appended
     */
    public byte[] sign(final byte[] frame)
    {
        final UnsafeBuffer signed = new UnsafeBuffer(new byte[frame.length + OVERHEAD]);
        signed.putBytes(0, frame);
        sign(signed, 0, frame.length);
        return signed.byteArray();
    }

    /**
     * A node signs an answer encoded in an array on a signed reply stream (its protocol's signed
     * flag set by the caller).
     *
     * @param frame  the answer
     * @param stream the reply stream, of a client
     * @return a copy with the signature appended, or null if the credentials no longer hold the
     *         client's key (the answer must not be sent)
     */
    public byte[] sign(final byte[] frame, final ReplyStream stream)
    {
        final UnsafeBuffer signed = new UnsafeBuffer(new byte[frame.length + OVERHEAD]);
        signed.putBytes(0, frame);
        return sign(signed, 0, frame.length, stream) == OVERHEAD ? signed.byteArray() : null;
    }

    /**
     * A new reply stream to a client, for a new response publication: its answers are signed with
     * the key the client signed its latest request with (until {@link ReplyStream#keyId(int)}).
     *
     * @param clientId the client (0 for an unsigned stream)
     * @return the stream, with an epoch above every earlier stream's of this JVM
     */
    public ReplyStream newStream(final long clientId)
    {
        // Distinct in this JVM: a node's client ingress and admin service answer the same client from two gates.
        final long now = SenderEpoch.nowMicros();
        final long streamEpoch = clientId == 0 ? 0 : LAST_STREAM_EPOCH.updateAndGet(last -> Math.max(now, last + 1));
        return new ReplyStream(clientId, clientId == 0 ? 0 : (int)lastKeyIds.get(clientId), streamEpoch);
    }

    /**
     * Reloads the credentials file (or the client's key file) if it changed; a file that no longer
     * loads is refused with one log line and the credentials in use stay.
     *
     * @param nowMillis      the wall clock
     * @param intervalMillis how often to look at the file
     */
    public void reloadIfChanged(final long nowMillis, final long intervalMillis)
    {
        try
        {
            if (credentials != null && credentials.reloadIfChanged(nowMillis, intervalMillis))
            {
                log.print(RELOAD, name + ": now using " + credentials.current());
            }
            else if (ownKeys != null && ownKeys.reloadIfChanged(nowMillis, intervalMillis))
            {
                log.print(RELOAD, name + ": now using " + ownKeys.keys());
            }
        }
        catch (final IllegalArgumentException ex)
        {
            log.print(RELOAD, name + ": the changed file is refused, the keys in use stay: " + ex.getMessage());
        }
    }

    /**
     * @param clientId a client id
     * @return true if the credentials in use let it use the admin protocol
     */
    public boolean isAdmin(final long clientId)
    {
        return credentials != null && credentials.current().isAdmin(clientId);
    }

    /**
     * @param reason one of the reason constants
     * @return how many frames were refused for it
     */
    public long dropped(final int reason)
    {
        return dropped.get(reason);
    }

    /** @return how many frames were refused, every reason */
    public long dropped()
    {
        long sum = 0;
        for (int i = 0; i < NAMES.length; i++)
        {
            sum += dropped.get(i);
        }
        return sum;
    }

    /**
     * @param reason one of the reason constants
     * @return its name
     */
    public static String reasonName(final int reason)
    {
        return reason >= 0 && reason < NAMES.length ? NAMES[reason] : "REASON(" + reason + ")";
    }

    /** @return how many reasons there are (the constants are 0 to this, exclusive) */
    public static int reasons()
    {
        return NAMES.length;
    }

    private FrameAuthenticator.Macs macsOf(final long signer)
    {
        if (ownKeys != null)
        {
            return ownMacs();
        }
        final ClientCredentials current = credentials.current();
        if (current != credentialsInUse)
        {
            clientMacs.clear();
            credentialsInUse = current;
        }
        FrameAuthenticator.Macs macs = clientMacs.get(signer);
        if (macs == null)
        {
            final ClusterKeys keys = current.keysOf(signer);
            if (keys == null)
            {
                return null;
            }
            macs = new FrameAuthenticator.Macs(keys);
            clientMacs.put(signer, macs);
        }
        return macs;
    }

    private FrameAuthenticator.Macs ownMacs()
    {
        final ClusterKeys keys = ownKeys.keys();
        if (ownMacs == null || ownMacs.keys != keys)
        {
            ownMacs = new FrameAuthenticator.Macs(keys);
        }
        return ownMacs;
    }

    private int refuse(final int reason, final long signer, final DirectBuffer buffer, final int offset, final int length)
    {
        dropped.incrementAndGet(reason);
        if (log.due(reason))
        {
            log.print(reason, name + ": dropped a frame" + (signer != 0 ? " signed by " + (ownKeys != null ? "node " : "client ") + signer : "") +
                ": " + explain(reason, signer, buffer, offset, length) + " (counter: " + NAMES[reason] + ")");
        }
        return -1;
    }

    private String explain(final int reason, final long signer, final DirectBuffer buffer, final int offset, final int length)
    {
        switch (reason)
        {
            case UNAUTHENTICATED:
                return "it is not signed, and signed frames are required";
            case UNEXPECTED_AUTHENTICATION:
                return "it is signed, and this side has no keys to check it (no credentials)";
            case TOO_SHORT:
                return "it is marked signed and is " + length + " bytes, shorter than a signature";
            case UNKNOWN_CLIENT:
                return "client " + signer + " is not in " + credentials.current().source();
            case UNKNOWN_KEY:
                return "key id " + buffer.getInt(offset + length - FrameAuthenticator.TRAILER_LENGTH + KEY_ID, LITTLE_ENDIAN) +
                    " is not a key of the signer here: a rotation step not made here yet, or another key file";
            case BAD_MAC:
                return "its MAC does not match: the signer holds a different key under that id, or the frame was forged or altered";
            case OLD_EPOCH:
                return "its epoch " + FrameAuthenticator.epoch(buffer, offset, length) + " is before the signer's live ones: a replay";
            default:
                return "its sequence " + FrameAuthenticator.sequence(buffer, offset, length) + " was received already: a replay";
        }
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("ClientAuth{").append(name).append(enabled() ? "" : " off").append(required ? " required" : "");
        for (int i = 0; i < NAMES.length; i++)
        {
            sb.append(' ').append(NAMES[i]).append('=').append(dropped.get(i));
        }
        return sb.append('}').toString();
    }

    /**
     * The answers of a node to one client on one response publication: the client and the key it
     * signed with (updated by each request it signs), the stream's epoch and its last sequence.
     * The response publication's owner's thread.
     */
    public static final class ReplyStream
    {
        private final long clientId;
        private int keyId;
        private final long epoch;
        private long sequence;

        private ReplyStream(final long clientId, final int keyId, final long epoch)
        {
            this.clientId = clientId;
            this.keyId = keyId;
            this.epoch = epoch;
        }

        /** @return the client answered (0: answers are not signed) */
        public long clientId()
        {
            return clientId;
        }

        /** @param keyId the key the client signed its latest request with: its answers are signed with it */
        public void keyId(final int keyId)
        {
            this.keyId = keyId;
        }
    }
}
