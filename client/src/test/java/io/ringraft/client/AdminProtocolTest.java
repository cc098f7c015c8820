package io.ringraft.client;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AdminProtocolTest
{
    private static UnsafeBuffer at(final int offset, final byte[] bytes)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[offset + bytes.length]);
        buffer.putBytes(offset, bytes);
        return buffer;
    }

    @Test
    void requestsRoundTrip()
    {
        final AdminProtocol.Request r = new AdminProtocol.Request(AdminProtocol.CHANGE_VOTERS, AdminProtocol.FLAG_WAIT, 7, 99, 0, 1_500,
            "127.0.0.1:4000", "", new long[]{1, 2, 4});
        final byte[] bytes = r.encode();
        for (int length = 0; length < bytes.length; length++)
        {
            assertNull(AdminProtocol.Request.decode(at(0, bytes), 0, length), "truncated to " + length);
        }
        final AdminProtocol.Request d = AdminProtocol.Request.decode(at(5, bytes), 5, bytes.length);
        assertEquals(AdminProtocol.CHANGE_VOTERS, d.op());
        assertEquals(AdminProtocol.FLAG_WAIT, d.flags());
        assertEquals(7, d.clusterId());
        assertEquals(99, d.correlation());
        assertEquals(1_500, d.timeoutMs());
        assertEquals("127.0.0.1:4000", d.replyEndpoint());
        assertArrayEquals(new long[]{1, 2, 4}, d.voters());
    }

    @Test
    void responsesRoundTripWithAndWithoutAView()
    {
        final Membership m = Membership.of(new long[]{1, 2, 3}, new long[0], new long[]{4},
            Map.of(1L, "h:1 h:2", 2L, "h:3 h:4", 3L, "h:5 h:6", 4L, "h:7 h:8"));
        final MemberStatus view = new MemberStatus(1, "LEADER", 5, 1, 5_000, 4_999, m, Map.of(2L, 5_000L, 3L, 4_500L, 4L, 10L));
        final byte[] bytes = new AdminProtocol.Response(AdminProtocol.STATUS, 7, 3, AdminStatus.OK, 1, 1, 100, "h:2", "shown", view)
            .encode();
        final AdminProtocol.Response d = AdminProtocol.Response.decode(at(0, bytes), 0, bytes.length);
        assertEquals("shown", d.message());
        assertEquals("h:2", d.leaderEndpoint());
        assertEquals(view, d.view());
        assertTrue(d.view().hasCaughtUp(3));
        assertFalse(d.view().hasCaughtUp(4), "10 is " + AdminProtocol.CATCH_UP_SLACK + " or more behind 5000");
        assertFalse(new MemberStatus(2, "FOLLOWER", 5, 1, 5_000, 4_999, m, Map.of()).hasCaughtUp(3), "only a leader knows");

        final MemberStatus joining = new MemberStatus(4, "FOLLOWER", 0, -1, 0, 0, null, Map.of());
        final byte[] j = new AdminProtocol.Response(AdminProtocol.STATUS, 7, 4, AdminStatus.OK, 4, -1, 0, "", "joining", joining).encode();
        assertTrue(AdminProtocol.Response.decode(at(0, j), 0, j.length).view().isJoining());

        final byte[] plain = new AdminProtocol.Response(AdminProtocol.REMOVE, 7, 5, AdminProtocol.NOT_CAUGHT_UP, 2, 1, 0, "", "no", null)
            .encode();
        final AdminProtocol.Response p = AdminProtocol.Response.decode(at(0, plain), 0, plain.length);
        assertNull(p.view());
        assertEquals("NOT_CAUGHT_UP", AdminProtocol.statusName(p.status()));
    }

    @Test
    void truncatedCorruptOrRandomFramesDecodeToNullNeverThrow()
    {
        final Membership m = Membership.of(1, 2, 3);
        final byte[] bytes = new AdminProtocol.Response(AdminProtocol.STATUS, 7, 3, AdminStatus.OK, 1, 1, 100, "h:2", "shown",
            new MemberStatus(1, "LEADER", 5, 1, 100, 99, m, Map.of(2L, 100L))).encode();
        for (int length = 0; length < bytes.length; length++)
        {
            assertNull(AdminProtocol.Response.decode(at(0, bytes), 0, length), "truncated to " + length);
        }
        final Random random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            final byte[] corrupt = bytes.clone();
            corrupt[5 + random.nextInt(corrupt.length - 5)] = (byte)random.nextInt();
            AdminProtocol.Response.decode(at(0, corrupt), 0, corrupt.length);
            final byte[] noise = new byte[random.nextInt(200)];
            random.nextBytes(noise);
            if (noise.length >= 5)
            {
                System.arraycopy(Arrays.copyOf(bytes, 5), 0, noise, 0, 5);
            }
            AdminProtocol.Response.decode(at(0, noise), 0, noise.length);
            AdminProtocol.Request.decode(at(0, noise), 0, noise.length);
        }
    }
}
