package io.ringraft.client;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClientProtocolTest
{
    private final UnsafeBuffer buffer = new UnsafeBuffer(new byte[512]);

    @Test
    void requestsRoundTrip()
    {
        final ClientProtocol.Request r = new ClientProtocol.Request();
        int length = ClientProtocol.encodeRequestHeader(buffer, 8, ClientProtocol.COMMAND, 7, 11, 13, 12);
        buffer.putBytes(8 + length, new byte[] {1, 2, 3});
        assertNull(r.decode(buffer, 8, length + 3));
        assertEquals(ClientProtocol.COMMAND, r.type);
        assertEquals(7, r.clusterId);
        assertEquals(11, r.sessionId);
        assertEquals(13, r.correlation);
        assertEquals(12, r.floor);
        assertEquals(8 + ClientProtocol.REQUEST_HEADER, r.bodyOffset);
        assertEquals(3, r.bodyLength);

        length = ClientProtocol.encodeRequestHeader(buffer, 0, ClientProtocol.OPEN, 7, 0, 99, 0);
        final byte[] endpoint = "127.0.0.1:4000".getBytes(StandardCharsets.UTF_8);
        buffer.putShort(length, (short)endpoint.length);
        buffer.putBytes(length + 2, endpoint);
        assertNull(r.decode(buffer, 0, length + 2 + endpoint.length));
        assertEquals("127.0.0.1:4000", buffer.getStringWithoutLengthUtf8(r.bodyOffset, r.bodyLength));
        assertEquals("OPEN with a response endpoint of 14 bytes in 17", r.decode(buffer, 0, length + 3 + endpoint.length));

        length = ClientProtocol.encodeRequestHeader(buffer, 0, ClientProtocol.QUERY, 7, 5, 6, 0);
        buffer.putByte(length, ClientProtocol.QUERY_LINEARIZABLE);
        assertNull(r.decode(buffer, 0, length + 4 + 2));
        assertEquals(ClientProtocol.QUERY_LINEARIZABLE, r.queryMode);
        assertEquals(2, r.bodyLength);
        buffer.putByte(length, (byte)9);
        assertEquals("QUERY of unknown mode 9", r.decode(buffer, 0, length + 4));
    }

    @Test
    void responsesRoundTrip()
    {
        final int length = ClientProtocol.encodeResponseHeader(buffer, 0, ClientProtocol.COMMAND, 7, 11, 13, ClientProtocol.OK,
            ClientProtocol.FLAG_DUPLICATE, 4, 100, 2, 0);
        buffer.putInt(length, 42);
        final ClientProtocol.Response r = new ClientProtocol.Response();
        assertTrue(r.decode(buffer, 0, length + 4));
        assertEquals(ClientProtocol.COMMAND, r.requestType);
        assertEquals(ClientProtocol.FLAG_DUPLICATE, r.flags);
        assertEquals(100, r.index);
        assertEquals(2, r.leaderId);
        assertEquals(42, buffer.getInt(r.payloadOffset));
        assertFalse(r.decode(buffer, 0, length + 3), "payload longer than the frame");
    }

    @Test
    void anyBytesDecodeWithoutThrowing()
    {
        final Random random = new Random(5);
        final ClientProtocol.Request request = new ClientProtocol.Request();
        final ClientProtocol.Response response = new ClientProtocol.Response();
        int wellFormed = 0;
        for (int i = 0; i < 100_000; i++)
        {
            random.nextBytes(buffer.byteArray());
            if (random.nextBoolean())
            {
                ClientProtocol.encodeRequestHeader(buffer, 0, (byte)random.nextInt(8), 7, 1, 1, 0);
            }
            final int length = random.nextInt(buffer.capacity() + 1);
            if (request.decode(buffer, 0, length) == null)
            {
                wellFormed++;
                assertTrue(request.bodyOffset >= ClientProtocol.REQUEST_HEADER && request.bodyOffset + request.bodyLength <= length);
            }
            if (response.decode(buffer, 0, length))
            {
                assertTrue(response.payloadOffset + response.payloadLength <= length);
            }
        }
        assertTrue(wellFormed > 0);
    }

    @Test
    void statusesNameThemselvesAndSayWhatWasNotWritten()
    {
        assertEquals("REDIRECT", ClientProtocol.statusName(ClientProtocol.REDIRECT));
        assertTrue(ClientProtocol.isNotWritten(ClientProtocol.REDIRECT));
        assertTrue(ClientProtocol.isNotWritten(ClientProtocol.NO_LEADER));
        assertFalse(ClientProtocol.isNotWritten(ClientProtocol.UNKNOWN_OUTCOME));
        assertTrue(Outcome.unknown(Outcome.TIMED_OUT));
        assertTrue(Outcome.applied(Outcome.APPLIED_RESPONSE_EVICTED));
    }
}
