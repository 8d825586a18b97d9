<?php

namespace App\Controller;

use Symfony\Component\HttpFoundation\JsonResponse;
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

    public function home(Request $request): Response
    {
        return $this->render('home.html.twig', $request);
    }

    public function about(Request $request): Response
    {
        return $this->render('about.html.twig', $request);
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

    private function render(string $template, Request $request): Response
    {
        $response = new Response($this->twig->render($template, [
            'origin' => self::originName(),
            'secure' => $request->isSecure(),
            'host' => $request->getHost(),
            'client_ip' => $request->getClientIp(),
        ]));
        $response->headers->set('X-Origin', self::originName());

        return $response;
    }
}
