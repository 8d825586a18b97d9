<?php

namespace App;

use Symfony\Component\HttpFoundation\Request;

/**
 * Verifies that a request came through the edge worker: its X-Edge-Auth header carries an
 * HMAC-SHA256, keyed with the shared secret EDGE_ORIGIN_KEY, over a timestamp and the request
 * line (see edge-worker/src/origin_auth.rs for the construction; both sides pin the same test
 * vector). Only such requests may set X-Forwarded-*: the edge is then trusted as a proxy.
 */
final class EdgeAuth
{
    public const HEADER = 'X-Edge-Auth';

    public function __construct(private string $key, private int $window = 60)
    {
    }

    /** The key from the environment, or null when the app runs without an edge in front. */
    public static function fromEnvironment(): ?self
    {
        $key = getenv('EDGE_ORIGIN_KEY');

        return \is_string($key) && $key !== '' ? new self($key) : null;
    }

    public function sign(int $time, string $method, string $host, string $pathAndQuery): string
    {
        $mac = hash_hmac('sha256', "v1\n$time\n$method\n$host\n$pathAndQuery", $this->key, true);

        return "v1;t=$time;sig=" . rtrim(strtr(base64_encode($mac), '+/', '-_'), '=');
    }

    /**
     * Whether the request carries a valid, fresh signature. The host and path are the ones the
     * edge forwarded to (the origin's own view), so a header replayed elsewhere fails.
     */
    public function verify(Request $request, int $now): bool
    {
        $header = (string) $request->headers->get(self::HEADER, '');
        if (!preg_match('/^v1;t=(\d{1,12});sig=[A-Za-z0-9_-]+$/', $header, $m)) {
            return false;
        }
        $time = (int) $m[1];
        if (abs($now - $time) > $this->window) {
            return false;
        }
        $expected = $this->sign($time, $request->getMethod(), $request->server->get('HTTP_HOST', ''), $request->server->get('REQUEST_URI', '/'));

        return hash_equals($expected, $header);
    }
}
