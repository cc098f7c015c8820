package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUri;
import io.aeron.ExclusivePublication;
import io.aeron.protocol.DataHeaderFlyweight;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PublicationChannelsTest
{
    private static final int TERM = 256 * 1024;

    @Test
    void loopbackIsRecognisedFromLiteralsAndLocalhostWithoutLookingNamesUp()
    {
        assertTrue(PublicationChannels.isLoopback("127.0.0.1:9001"));
        assertTrue(PublicationChannels.isLoopback("127.1.2.3:9001"));
        assertTrue(PublicationChannels.isLoopback("[::1]:9001"));
        assertTrue(PublicationChannels.isLoopback("localhost:9001"));
        assertTrue(PublicationChannels.isLoopback("LocalHost:9001"));
        assertFalse(PublicationChannels.isLoopback("10.0.0.1:9001"));
        assertFalse(PublicationChannels.isLoopback("[fe80::1]:9001"));
        assertFalse(PublicationChannels.isLoopback("[2001:db8::1]:9001"));
        // Names are never resolved: a name that would resolve to loopback still counts as the network.
        assertFalse(PublicationChannels.isLoopback("ip6-localhost:9001"));
        assertFalse(PublicationChannels.isLoopback("node-1.example:9001"));
        assertFalse(PublicationChannels.isLoopback("[localhost.example]:9001"), "a bracketed name is not an IPv6 literal");
        assertFalse(PublicationChannels.isLoopback("127.0.0:9001"), "not a literal of four parts");
        assertFalse(PublicationChannels.isLoopback("127.0.0.1.5:9001"));
        assertFalse(PublicationChannels.isLoopback("1270.0.0.1:9001"));
    }

    @Test
    void autoChoosesTheLoopbackMtuCappedByTheTermLengthAndLeavesTheNetworkToAeron()
    {
        assertEquals(PublicationChannels.LOOPBACK_MTU, PublicationChannels.mtuFor("127.0.0.1:1", TERM, PublicationChannels.MTU_AUTO));
        assertEquals(8192, PublicationChannels.mtuFor("127.0.0.1:1", 64 * 1024, PublicationChannels.MTU_AUTO), "64 KiB / 8");
        assertEquals(PublicationChannels.MTU_AUTO, PublicationChannels.mtuFor("10.1.1.1:1", TERM, PublicationChannels.MTU_AUTO));
        assertEquals(1408, PublicationChannels.mtuFor("127.0.0.1:1", TERM, 1408), "an explicit MTU wins");
        assertEquals(8960, PublicationChannels.mtuFor("10.1.1.1:1", TERM, 8960));

        assertEquals("8192", ChannelUri.parse(PublicationChannels.udp("127.0.0.1:9001", TERM, 0)).get("mtu"));
        assertNull(ChannelUri.parse(PublicationChannels.udp("10.0.0.1:9001", TERM, 0)).get("mtu"));
        final ChannelUri explicit = ChannelUri.parse(PublicationChannels.udp("10.0.0.1:9001", TERM, 4096));
        assertEquals("4096", explicit.get("mtu"));
        assertEquals("262144", explicit.get("term-length"));
        assertEquals("true", explicit.get("sparse"));
        assertEquals("10.0.0.1:9001", explicit.get("endpoint"));
    }

    @Test
    void anMtuIsAMultipleOf32WithinAeronsLimits()
    {
        assertNull(PublicationChannels.mtuProblem(0, 64 * 1024));
        assertNull(PublicationChannels.mtuProblem(1024, 64 * 1024));
        assertNull(PublicationChannels.mtuProblem(8192, 64 * 1024));
        assertNull(PublicationChannels.mtuProblem(65504, 1024 * 1024));
        assertEquals("must be 0 (auto) or a multiple of 32 from 1024 to 65504", PublicationChannels.mtuProblem(1000, TERM));
        assertEquals("must be 0 (auto) or a multiple of 32 from 1024 to 65504", PublicationChannels.mtuProblem(992, TERM));
        assertEquals("must be 0 (auto) or a multiple of 32 from 1024 to 65504", PublicationChannels.mtuProblem(65536, 1024 * 1024));
        assertEquals("must be 0 (auto) or a multiple of 32 from 1024 to 65504", PublicationChannels.mtuProblem(-32, TERM));
        assertEquals("must be at most the term length / 8 (8192 with a term length of 65536)",
            PublicationChannels.mtuProblem(8224, 64 * 1024));
    }

    @Test
    void theDriverOpensPublicationsWithTheChosenMtu()
    {
        try (EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(0, 64 * 1024, false);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
            ExclusivePublication loopback = aeron.addExclusivePublication(PublicationChannels.udp("127.0.0.1:40999", TERM, 0), 7);
            ExclusivePublication explicit = aeron.addExclusivePublication(PublicationChannels.udp("127.0.0.1:40998", TERM, 2048), 7))
        {
            // (Only loopback here: a test sends nothing off this host.)
            assertEquals(PublicationChannels.LOOPBACK_MTU - DataHeaderFlyweight.HEADER_LENGTH, loopback.maxPayloadLength());
            assertEquals(2048 - DataHeaderFlyweight.HEADER_LENGTH, explicit.maxPayloadLength());
        }
    }
}
