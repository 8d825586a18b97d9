<?php

namespace App;

use Symfony\Bundle\FrameworkBundle\FrameworkBundle;
use Symfony\Bundle\FrameworkBundle\Kernel\MicroKernelTrait;
use Symfony\Bundle\TwigBundle\TwigBundle;
use Symfony\Component\DependencyInjection\Loader\Configurator\ContainerConfigurator;
use Symfony\Component\HttpKernel\Kernel as BaseKernel;
use Symfony\Component\Routing\Loader\Configurator\RoutingConfigurator;

/**
 * The demo shop's kernel: FrameworkBundle + TwigBundle, configured from config/*.yaml.
 */
final class Kernel extends BaseKernel
{
    use MicroKernelTrait;

    public function registerBundles(): iterable
    {
        return [new FrameworkBundle(), new TwigBundle()];
    }

    /** There is no composer.json to find the project directory by. */
    public function getProjectDir(): string
    {
        return \dirname(__DIR__);
    }

    /** Where cache and logs go. */
    public function getCacheDir(): string
    {
        return $this->varDir() . '/cache/' . $this->environment;
    }

    public function getLogDir(): string
    {
        return $this->varDir() . '/log';
    }

    /** APP_VAR_DIR lets several origins (one checkout, several `php -S`) keep separate caches. */
    private function varDir(): string
    {
        $dir = getenv('APP_VAR_DIR');

        return \is_string($dir) && $dir !== '' ? $dir : $this->getProjectDir() . '/var';
    }

    protected function configureContainer(ContainerConfigurator $container): void
    {
        $container->import($this->getProjectDir() . '/config/framework.yaml');
        $container->import($this->getProjectDir() . '/config/services.yaml');
    }

    protected function configureRoutes(RoutingConfigurator $routes): void
    {
        $routes->add('home', '/')->controller([Controller\PageController::class, 'home']);
        $routes->add('about', '/about')->controller([Controller\PageController::class, 'about']);
        $routes->add('whoami', '/whoami')->controller([Controller\PageController::class, 'whoami']);
        $routes->add('legacy', '/legacy')->controller([Controller\PageController::class, 'legacy']);
        $routes->add('fail', '/fail')->controller([Controller\PageController::class, 'fail']);
        $routes->add('health', '/health')->controller([Controller\PageController::class, 'health']);
        $routes->add('order', '/order')->controller([Controller\OrderController::class, 'order'])->methods(['POST']);
        $routes->add('orders', '/orders')->controller([Controller\OrderController::class, 'count'])->methods(['GET']);
        // Scheduled jobs, sent by the edge's coordinator (log first: `log` is not a job).
        $routes->add('jobs_log', '/_jobs/log')->controller([Controller\JobController::class, 'log'])->methods(['GET']);
        $routes->add('jobs_run', '/_jobs/{name}')->controller([Controller\JobController::class, 'run'])->methods(['GET', 'POST', 'PUT']);
    }
}
