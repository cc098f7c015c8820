package io.ringraft.server.kv;

import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class KvProtocolTest
{
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);

    @Test
    void requestRoundTrip()
    {
        final int length = KvProtocol.encodeRequest(buffer, KvProtocol.CAS, KvProtocol.FLAG_LINEARIZABLE, 7, 11, 13,
            bytes("127.0.0.1:4000"), bytes("key"), bytes("new"), bytes("old"));
        final KvProtocol.Request r = new KvProtocol.Request();
        assertNull(r.decode(buffer, 0, length));
        assertEquals(KvProtocol.CAS, r.op);
        assertEquals(KvProtocol.FLAG_LINEARIZABLE, r.flags);
        assertEquals(7, r.clusterId);
        assertEquals(11, r.sessionId);
        assertEquals(13, r.requestId);
        assertEquals("127.0.0.1:4000", buffer.getStringWithoutLengthUtf8(r.replyOffset, r.replyLength));
        assertEquals("key", buffer.getStringWithoutLengthUtf8(r.keyOffset, r.keyLength));
        assertEquals("new", buffer.getStringWithoutLengthUtf8(r.valueOffset, r.valueLength));
        assertEquals("old", buffer.getStringWithoutLengthUtf8(r.expectedOffset, r.expectedLength));
    }

    @Test
    void absentValuesAndMalformedRequests()
    {
        final KvProtocol.Request r = new KvProtocol.Request();
        int length = KvProtocol.encodeRequest(buffer, KvProtocol.GET, 0, 0, 1, 2, bytes("h:1"), bytes("k"), null, null);
        assertNull(r.decode(buffer, 0, length));
        assertEquals(-1, r.valueLength);
        assertEquals(-1, r.expectedLength);

        length = KvProtocol.encodeRequest(buffer, KvProtocol.PUT, 0, 0, 1, 2, bytes("h:1"), bytes("k"), null, null);
        assertEquals("put without a value", r.decode(buffer, 0, length));
        assertEquals(3, r.replyLength, "a malformed request with a reply endpoint can be answered");

        length = KvProtocol.encodeRequest(buffer, KvProtocol.PUT, 0, 0, 1, 2, bytes("h:1"), bytes(""), bytes("v"), null);
        assertEquals("empty key", r.decode(buffer, 0, length));

        assertEquals("truncated request", r.decode(buffer, 0, length - 3));
        assertEquals("request of 10 bytes is too short", r.decode(buffer, 0, 10));
        assertEquals(0, r.replyLength, "nothing to answer to");
        final UnsafeBuffer junk = new UnsafeBuffer(new byte[64]);
        assertEquals("not a ringraft KV request (magic/version)", r.decode(junk, 0, 64));
        assertEquals(0, r.replyLength);
    }

    @Test
    void responseRoundTrip()
    {
        final UnsafeBuffer value = new UnsafeBuffer(bytes("xvaluex"));
        int length = KvProtocol.encodeResponse(buffer, KvProtocol.CAS_FAILED, 7, 11, 13, 99, 0, value, 1, 5, null);
        KvProtocol.Response r = KvProtocol.Response.decode(buffer, 0, length);
        assertEquals(KvProtocol.CAS_FAILED, r.status());
        assertEquals(11, r.sessionId());
        assertEquals(13, r.requestId());
        assertEquals(99, r.index());
        assertArrayEquals(bytes("value"), r.value());
        assertEquals("", r.text());

        length = KvProtocol.encodeResponse(buffer, KvProtocol.REDIRECT, 7, 11, 14, 0, 3, null, 0, -1, bytes("10.0.0.3:9101"));
        r = KvProtocol.Response.decode(buffer, 0, length);
        assertEquals(KvProtocol.REDIRECT, r.status());
        assertEquals(3, r.leaderId());
        assertNull(r.value());
        assertEquals("10.0.0.3:9101", r.text());
        assertNull(KvProtocol.Response.decode(buffer, 0, length - 1), "truncated");
    }

    private static byte[] bytes(final String s)
    {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
