<?php

namespace App\Controller;

use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\RedirectResponse;
use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\HttpFoundation\Response;
use Twig\Environment;

/**
 * The demo's pages. Each shows which origin served it and what Symfony believes about the
 * request (scheme, host, client IP), so a person can see the edge at work.
 */
final class PageController
{
    public function __construct(private Environment $twig)
    {
    }

    /**
     * Shared, cacheable pages: the edge keeps them for 30 s, serves them stale for 30 s more while
     * it revalidates in the background, and for a day while every origin is down. Their tags
     * let a write purge them (POST /order purges `orders`).
     */
    public const SHARED = 'public, s-maxage=30, stale-while-revalidate=30, stale-if-error=86400';

    public function home(Request $request): Response
    {
        $response = $this->render('home.html.twig', $request, ['orders' => OrderController::orders()]);

        return $this->shared($response, 'page-home orders');
    }

    public function about(Request $request): Response
    {
        return $this->shared($this->render('about.html.twig', $request), 'page-about');
    }

    /** Marks a page cacheable by the edge (never personal: no session, no client facts in it). */
    private function shared(Response $response, string $tags): Response
    {
        $response->headers->set('Cache-Control', self::SHARED);
        $response->headers->set('X-Cache-Tags', $tags);
        $response->setEtag(md5((string) $response->getContent()));
        $response->setVary('Accept-Language', false);

        return $response;
    }

    /**
     * What this origin believes about the request, as JSON: the edge's tests and the demo use it
     * to show that the scheme, host and client IP survive the trip through the edge.
     */
    public function whoami(Request $request): JsonResponse
    {
        $headers = [];
        foreach ($request->headers->all() as $name => $values) {
            // Never echo the edge's signature: a page that shows it hands out a valid header.
            if ($name !== 'x-edge-auth') {
                $headers[$name] = implode(', ', $values);
            }
        }

        return new JsonResponse([
            'origin' => self::originName(),
            'method' => $request->getMethod(),
            'raw_method' => $request->server->get('REQUEST_METHOD'),
            'signed' => $request->headers->has('x-edge-auth'),
            'secure' => $request->isSecure(),
            'scheme' => $request->getScheme(),
            'host' => $request->getHost(),
            'port' => $request->getPort(),
            'client_ip' => $request->getClientIp(),
            'uri' => $request->getRequestUri(),
            'headers' => $headers,
        ], 200, ['X-Origin' => self::originName(), 'Cache-Control' => 'no-store']);
    }

    /**
     * A redirect built from the origin's own address (as an app behind a proxy without
     * trusted_proxies would build it): the edge must rewrite it to the public host.
     */
    public function legacy(Request $request): RedirectResponse
    {
        $own = 'http://' . $request->server->get('HTTP_HOST');

        return new RedirectResponse($own . '/about', 301, ['X-Origin' => self::originName()]);
    }

    /** An application error with internals in the body, as a debug page would show. */
    public function fail(): Response
    {
        return new Response("Fatal error: secret stack trace in /srv/app/src/Kernel.php:42\n", 500, [
            'Content-Type' => 'text/plain; charset=utf-8',
            'X-Origin' => self::originName(),
            'X-Debug-Token' => 'abc123',
            'X-Debug-Token-Link' => 'http://' . $_SERVER['HTTP_HOST'] . '/_profiler/abc123',
        ]);
    }

    /**
     * The edge's active health check. Answers 503 while the file `unhealthy` exists in the var
     * directory, so an origin can be taken out of rotation (or a test can fail it) without
     * stopping it.
     */
    public function health(): Response
    {
        $dir = getenv('APP_VAR_DIR');
        $dir = \is_string($dir) && $dir !== '' ? $dir : \dirname(__DIR__, 2) . '/var';
        $sick = is_file($dir . '/unhealthy');

        return new Response($sick ? "unhealthy\n" : "ok\n", $sick ? 503 : 200, [
            'Content-Type' => 'text/plain; charset=utf-8',
            'Cache-Control' => 'no-store',
            'X-Origin' => self::originName(),
        ]);
    }

    /** The origin's name (APP_ORIGIN_NAME; PHP's built-in server keeps it out of $_SERVER). */
    public static function originName(): string
    {
        $name = getenv('APP_ORIGIN_NAME');

        return \is_string($name) && $name !== '' ? $name : gethostname() . ':' . ($_SERVER['SERVER_PORT'] ?? '?');
    }

    private function render(string $template, Request $request, array $context = []): Response
    {
        $response = new Response($this->twig->render($template, $context + [
            'origin' => self::originName(),
            'rendered_at' => gmdate('H:i:s'),
        ]));
        $response->headers->set('X-Origin', self::originName());

        return $response;
    }
}
