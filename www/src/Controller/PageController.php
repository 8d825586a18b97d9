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
            $headers[$name] = implode(', ', $values);
        }

        return new JsonResponse([
            'origin' => self::originName(),
            'method' => $request->getMethod(),
            'secure' => $request->isSecure(),
            'scheme' => $request->getScheme(),
            'host' => $request->getHost(),
            'port' => $request->getPort(),
            'client_ip' => $request->getClientIp(),
            'uri' => $request->getRequestUri(),
            'headers' => $headers,
        ], 200, ['X-Origin' => self::originName(), 'Cache-Control' => 'no-store']);
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
