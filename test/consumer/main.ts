// The entry point of both scratch apps (copied into their src/ by run.mjs): Nest's own, plus the
// line that tells the test which port PORT=0 got.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

const app = await NestFactory.create(AppModule);
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
console.log(`Listening on ${await app.getUrl()}`);
