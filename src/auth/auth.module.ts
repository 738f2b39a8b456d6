import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { JwtStrategy, JwtStreamStrategy } from './jwt.strategy';
import { ServerAuthController } from './server-auth.controller';

@Module({
  imports: [PassportModule],
  controllers: [ServerAuthController],
  providers: [JwtStrategy, JwtStreamStrategy],
})
export class AuthModule {}
